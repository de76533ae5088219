"""The CLI as a newcomer uses it, including every kind of bad input."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from podium.memory.store import RunStore
from podium.workspace import Workspace


def podium(*args: str, home: Path, stdin: bytes | None = None, timeout: int = 300):
    return subprocess.run(
        [sys.executable, "-m", "podium.cli", *args],
        input=stdin,
        capture_output=True,
        timeout=timeout,
        env={**os.environ, "PODIUM_HOME": str(home), "COLUMNS": "200"},
    )


@pytest.fixture
def ws(tmp_path: Path) -> Workspace:
    return Workspace.init(tmp_path / "ws", guardians=False)


def _no_runs(ws: Workspace) -> bool:
    return RunStore(ws.store_url).list_runs() == []


@pytest.mark.parametrize(
    ("args", "stdin", "says"),
    [
        (["run", ""], None, "empty"),
        (["run", "   "], None, "empty"),
        (["run", "-"], b"How many \xff\xfe orders?", "not valid UTF-8"),
        (["run", "-"], b"\x00\x01\x02binary", "NUL"),
        (["run", "hello", "--planner", "hf:llama"], None, "unknown model scheme 'hf'"),
    ],
)
def test_bad_input_is_refused_clearly_with_nothing_stored(tmp_path, ws, args, stdin, says):
    proc = podium(*args, "--workspace", str(ws.root), home=tmp_path, stdin=stdin)
    assert proc.returncode == 2
    assert says in proc.stderr.decode()
    assert _no_runs(ws)


def test_a_one_megabyte_task_is_refused(tmp_path, ws):
    proc = podium("run", "-", "--workspace", str(ws.root), home=tmp_path, stdin=b"a" * 1_000_000)
    assert proc.returncode == 2
    assert "the limit is 20,000" in proc.stderr.decode()
    assert _no_runs(ws)


def test_non_utf8_argv_is_refused(tmp_path, ws):
    # A raw invalid byte in argv arrives as a surrogate escape.
    proc = subprocess.run(
        [
            sys.executable,
            "-m",
            "podium.cli",
            "run",
            b"caf\xe9 orders".decode("utf-8", "surrogateescape"),
            "--workspace",
            str(ws.root),
        ],
        capture_output=True,
        timeout=120,
        env={**os.environ, "PODIUM_HOME": str(tmp_path)},
    )
    assert proc.returncode == 2
    assert b"not valid UTF-8" in proc.stderr


def test_init_creates_a_workspace_and_refuses_to_overwrite(tmp_path, demo):
    target = tmp_path / "mine"
    db = demo.database_url()
    proc = podium("init", str(target), "--db", db, "--docs", str(demo.root / "docs"), home=tmp_path)
    assert proc.returncode == 0, proc.stderr
    loaded = Workspace.load(target)
    assert loaded.database_url() == db
    assert loaded.document_paths() == [demo.root / "docs"]
    again = podium("init", str(target), home=tmp_path)
    assert again.returncode == 2 and b"already exists" in again.stderr


def test_unknown_workspace_says_how_to_create_one(tmp_path):
    proc = podium("runs", "list", "--workspace", str(tmp_path / "nowhere"), home=tmp_path)
    assert proc.returncode == 2
    assert b"podium init" in proc.stderr


def test_runs_show_unknown_id(tmp_path, ws):
    proc = podium("runs", "show", "deadbeef", "--workspace", str(ws.root), home=tmp_path)
    assert proc.returncode == 1
    assert b"no run 'deadbeef'" in proc.stderr


def test_runs_list_json_is_valid_json(tmp_path, ws):
    proc = podium("runs", "list", "--json", "--workspace", str(ws.root), home=tmp_path)
    assert proc.returncode == 0
    assert json.loads(proc.stdout) == []


@pytest.mark.slow
def test_a_paused_run_is_approved_from_the_cli(tmp_path, ws):
    paused = podium(
        "run",
        "How far is 10 km in miles?",
        "--json",
        "--workspace",
        str(ws.root),
        "--workflow",
        "tests.workflows:convert_with_approval",
        home=tmp_path,
    )
    assert paused.returncode == 0, paused.stderr
    data = json.loads(paused.stdout)
    assert data["status"] == "awaiting_approval"
    assert data["pending_approvals"][0]["step_id"] == "s1"
    assert data["steps"] == []

    done = podium(
        "approve", data["run_id"], "s1", "--json", "--workspace", str(ws.root), home=tmp_path
    )
    assert done.returncode == 0, done.stderr
    finished = json.loads(done.stdout)
    assert finished["status"] == "done"
    assert finished["steps"][0]["output"]["value"] == pytest.approx(6.213712, rel=1e-6)
    assert "6.214" in finished["answer"]
