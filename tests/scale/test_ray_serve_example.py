"""The Ray Serve example deploys an expert behind HTTP and answers through RemoteExpert."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]

pytestmark = pytest.mark.slow


def test_the_ray_serve_example_serves_the_retrieval_expert_over_http(tmp_path):
    pytest.importorskip(
        "ray.serve", reason="Ray Serve is not installed: pip install 'podium[serve]'"
    )
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    proc = subprocess.run(
        [sys.executable, "examples/ray_serve_expert.py", "--port", str(port)],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=600,
        env={**os.environ, "PODIUM_HOME": str(tmp_path)},
    )
    assert proc.returncode == 0, proc.stderr[-3000:]
    assert f"served at http://127.0.0.1:{port}/retrieval" in proc.stdout
    assert "top passage: returns.md" in proc.stdout
    assert "14 days" in proc.stdout
