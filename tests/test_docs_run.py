"""The README's example and every script in examples/ run as they are written, so the docs
cannot drift from the code. They use the real embedded models (``slow``)."""

from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
# Scripts run by a test of their own elsewhere (they need more than a plain `python FILE`).
RUN_ELSEWHERE = {
    "ray_serve_expert.py": "tests/scale/test_ray_serve_example.py",
}
RUN_HERE = ["custom_expert.py", "custom_workflow.py"]


def readme_example() -> str:
    """The README's first ```python block: the example a reader copies first."""
    blocks = re.findall(r"```python\n(.*?)```", (ROOT / "README.md").read_text(), re.S)
    assert blocks, "README.md has no ```python block"
    return blocks[0]


def run_python(args: list[str], home: Path) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "PODIUM_HOME": str(home)}
    env["PYTHONPATH"] = os.pathsep.join(p for p in (str(ROOT), env.get("PYTHONPATH")) if p)
    return subprocess.run(
        [sys.executable, *args], cwd=ROOT, capture_output=True, text=True, timeout=900, env=env
    )


def test_the_readme_example_is_the_one_this_test_runs():
    code = readme_example()
    assert "from podium import" in code and "podium.run(" in code
    compile(code, "README.md", "exec")


def test_every_example_script_is_run_by_a_test():
    scripts = {p.name for p in (ROOT / "examples").glob("*.py") if p.name != "__init__.py"}
    assert scripts == set(RUN_HERE) | set(RUN_ELSEWHERE)
    assert all((ROOT / test).is_file() for test in RUN_ELSEWHERE.values())


def test_every_script_the_benchmarks_cite_exists():
    cited = set(re.findall(r"benchmarks/[\w/]+\.py", (ROOT / "BENCHMARKS.md").read_text()))
    assert cited, "BENCHMARKS.md cites no script"
    assert sorted(p for p in cited if not (ROOT / p).is_file()) == []


@pytest.mark.slow
def test_the_readme_example_runs(tmp_path):
    proc = run_python(["-c", readme_example()], tmp_path)
    assert proc.returncode == 0, proc.stderr[-3000:]
    lines = proc.stdout.strip().splitlines()
    assert any(line.startswith("days_between 1.0") for line in lines), proc.stdout
    assert "59" in proc.stdout  # 2025-01-01 to 2025-03-01


@pytest.mark.slow
@pytest.mark.parametrize("script", RUN_HERE)
def test_the_example_script_runs(script, tmp_path):
    proc = run_python([f"examples/{script}"], tmp_path)
    assert proc.returncode == 0, proc.stderr[-3000:]
    assert proc.stdout.strip(), "the example printed nothing"
