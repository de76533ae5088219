"""End to end on the real offline models: the ladder's Qwen2.5-Coder-1.5B plans and writes,
0.5B drafts SQL, MiniLM routes and retrieves, the demo shop database answers. Offline, on the
CPU."""

from __future__ import annotations

import json
import os
import subprocess
import sys

import pytest

from podium import Podium

pytestmark = pytest.mark.slow

COMPOUND = "How many orders were placed in 2024, and what is the return policy for damaged items?"


@pytest.fixture(scope="module")
def demo_podium(demo) -> Podium:
    return Podium(workspace=demo)


def test_a_compound_question_runs_a_database_step_and_a_document_step(demo_podium):
    result = demo_podium.run(COMPOUND)

    assert result.status == "done"
    experts = {s["expert"]: s for s in result.steps}
    assert set(experts) == {"nl2sql", "retrieval"}
    assert all(s["status"] == "ok" for s in result.steps)

    sql_step = experts["nl2sql"]
    assert sql_step["output"]["sql"].upper().startswith("SELECT")
    assert sql_step["cost"]["input_tokens"] > 0  # the expert's model calls were metered
    assert 0 < sql_step["confidence"] <= 1

    doc_step = experts["retrieval"]
    assert doc_step["output"][0]["source"].endswith("returns.md")  # the file it came from
    assert "14 days" in doc_step["output"][0]["text"]
    assert "14 days" in result.answer
    # The count is right and the answer is a sentence, not a row dump.
    assert sql_step["output"]["rows"] == [[543]]
    assert "543" in result.answer
    assert "COUNT(*)" not in result.answer

    kinds = [e["type"] for e in result.events]
    assert kinds.count("step_finished") == 2
    assert result.cost["model_calls"] >= 2


def test_a_single_question_gets_a_single_step(demo_podium):
    result = demo_podium.run("What does the warranty cover?")
    assert [s["expert"] for s in result.steps] == ["retrieval"]
    assert "warranty" in result.steps[0]["output"][0]["source"]


def test_cli_json_output_has_the_documented_shape(demo, tmp_path):
    proc = subprocess.run(
        [
            sys.executable,
            "-m",
            "podium.cli",
            "run",
            COMPOUND,
            "--json",
            "--workspace",
            str(demo.root),
        ],
        capture_output=True,
        text=True,
        timeout=600,
        env={**os.environ, "PODIUM_HOME": str(tmp_path)},
    )
    assert proc.returncode == 0, proc.stderr
    data = json.loads(proc.stdout)
    assert data["answer"]
    assert data["run_id"] and len(data["events"]) > 5
    plan_steps = data["plan"]["steps"]
    assert len(plan_steps) >= 2
    assert len({s["expert"] for s in plan_steps}) >= 2
    for s in plan_steps:
        assert {"id", "expert", "input", "depends_on"} <= set(s)
    for s in data["steps"]:
        assert {"step_id", "expert", "status", "confidence", "output", "cost"} <= set(s)
        assert s["status"] == "ok"
        assert s["cost"]["ms"] > 0

    shown = subprocess.run(
        [
            sys.executable,
            "-m",
            "podium.cli",
            "runs",
            "show",
            data["run_id"],
            "--json",
            "--workspace",
            str(demo.root),
        ],
        capture_output=True,
        text=True,
        timeout=120,
        env={**os.environ, "PODIUM_HOME": str(tmp_path)},
    )
    stored = json.loads(shown.stdout)
    assert stored["answer"] == data["answer"]
    assert len(stored["steps"]) == len(data["steps"])
    assert set(stored) == set(data)  # one shape: the run record (docs/run-record.md)


def test_a_custom_workflow_runs_from_the_cli(demo, tmp_path):
    proc = subprocess.run(
        [
            sys.executable,
            "-m",
            "podium.cli",
            "run",
            "What is the return policy for damaged items?",
            "--json",
            "--workspace",
            str(demo.root),
            "--workflow",
            "examples.custom_workflow:docs_then_check",
        ],
        capture_output=True,
        text=True,
        timeout=600,
        env={**os.environ, "PODIUM_HOME": str(tmp_path)},
    )
    assert proc.returncode == 0, proc.stderr
    data = json.loads(proc.stdout)
    assert [s["expert"] for s in data["plan"]["steps"]] == ["retrieval", "nl2sql"]
    assert data["plan"]["notes"] == ["fixed pipeline"]
