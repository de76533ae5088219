"""Durable runs: kill the process mid fan-out, resume by id, nothing finished runs twice."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

from podium.workspace import Workspace

ROOT = Path(__file__).resolve().parents[2]


def _start(ws: Path, counter: Path, run_id: str, mode: str) -> subprocess.Popen:
    return subprocess.Popen(
        [sys.executable, "-m", "tests.reliability.crash_run", str(ws), str(counter), run_id, mode],
        cwd=ROOT,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env={**os.environ, "PODIUM_HOME": str(ws.parent / "home")},
    )


def _lines(path: Path) -> list[str]:
    return path.read_text().splitlines() if path.exists() else []


def test_sigkill_mid_fan_out_then_resume_runs_only_what_was_unfinished(tmp_path):
    ws = Workspace.init(tmp_path / "ws", guardians=False).root
    counter = tmp_path / "calls.txt"
    proc = _start(ws, counter, "crashme", "start")
    deadline = time.time() + 60
    while len(_lines(counter)) < 2 and time.time() < deadline:
        time.sleep(0.05)
    assert sorted(_lines(counter)) == ["job a 0", "job b 0"], "the fast steps should be done"
    # A step counts as finished once its result is in the checkpoint (written within ms of
    # its return; at-least-once otherwise). c and d sleep 4 s, so they are mid-flight.
    time.sleep(0.5)
    proc.send_signal(signal.SIGKILL)  # c and d are still sleeping
    proc.wait(timeout=10)
    assert proc.returncode == -signal.SIGKILL

    resumed = _start(ws, counter, "crashme", "resume")
    out, err = resumed.communicate(timeout=120)
    assert resumed.returncode == 0, err
    result = json.loads(out)
    assert result["status"] == "done"
    # a and b ran once, before the crash; c and d ran once, after it.
    assert sorted(_lines(counter)) == ["job a 0", "job b 0", "job c 4", "job d 4"]

    # The answer is the one an uninterrupted run gives.
    clean_ws = Workspace.init(tmp_path / "clean", guardians=False).root
    clean = _start(clean_ws, tmp_path / "clean-calls.txt", "clean", "start")
    out, err = clean.communicate(timeout=120)
    assert clean.returncode == 0, err
    assert json.loads(out)["answer"] == result["answer"]
