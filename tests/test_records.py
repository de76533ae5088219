"""One run model: the runner, the store, the CLI and the published schema agree on a run."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from pydantic import ValidationError
from typer.testing import CliRunner

from podium import expert
from podium.cli import app
from podium.memory.store import RunStore
from podium.orchestrator.plan import Step
from podium.records import (
    REGENERATE,
    SCHEMA_FILE,
    PlanStepRecord,
    RunRecord,
    StepRecord,
    schema_text,
)

from .scripted import plan_json

ROOT = Path(__file__).resolve().parents[1]


@expert
def lookup(text: str) -> str:
    """Looks up a fact and returns it."""
    return f"fact about {text}"


@expert
def shout(text: str) -> str:
    """Repeats what it is given in capitals."""
    return text.upper()


def test_the_published_schema_is_the_run_records_schema() -> None:
    published = (ROOT / SCHEMA_FILE).read_text(encoding="utf-8")
    assert published == schema_text(), (
        f"{SCHEMA_FILE} is out of date with podium/records.py; regenerate it from the "
        f"repository root with: {REGENERATE}"
    )


def test_a_planned_step_record_has_every_field_of_a_plan_step() -> None:
    assert set(PlanStepRecord.model_fields) == set(Step.model_fields)


def test_a_record_refuses_keys_it_does_not_know() -> None:
    with pytest.raises(ValidationError, match=r"id\n.*Extra inputs are not permitted"):
        RunRecord.model_validate({"id": "r1", "run_id": "r1", "task": "t", "status": "done"})
    with pytest.raises(ValidationError, match="status"):
        RunRecord.model_validate({"run_id": "r1", "task": "t", "status": "finished"})


def test_a_step_reads_like_the_dict_it_was() -> None:
    step = StepRecord(step_id="s1", expert="lookup", status="ok", confidence=0.8)
    assert (step["expert"], step["confidence"], step["cost"]["ms"]) == ("lookup", 0.8, 0.0)
    assert step.get("summary", "none") is None and step.get("nope", "none") == "none"
    assert "expert" in step and "nope" not in step
    with pytest.raises(KeyError, match="nope"):
        step["nope"]


def _comparable(run: RunRecord) -> dict[str, Any]:
    """A run without what only one side can know: the times each side took, and the step
    details the store does not keep (summary, evidence, details, large calls)."""
    data = run.to_json_dict()
    for key in ("created_at", "finished_at"):
        data.pop(key)
    for step in data["steps"]:
        step.update(summary=None, evidence=[], details={})
        step["cost"]["large_calls"] = 0
    return data


def test_a_run_has_one_shape_from_the_runner_the_store_and_the_cli(make_podium, workspace) -> None:
    podium = make_podium(
        plan_json(("s1", "lookup", "owls"), ("s2", "shout", "summary: {s1}", ["s1"])),
        "Summary: the fact about owls, loudly.",
        experts=[lookup, shout],
    )
    result = podium.run("Look up owls and shout it")
    printed = result.to_json_dict()  # podium run --json
    assert [s["step_id"] for s in printed["steps"]] == ["s1", "s2"]
    assert printed["plan"]["steps"][0]["id"] == "s1"
    assert printed["events"] == result.events and "ledger" not in printed
    assert printed["verdicts"] and printed["planner"] and printed["created_at"]

    stored = RunStore(workspace.store_url).get_run(result.run_id)
    assert _comparable(stored) == _comparable(result.record())

    shown = CliRunner().invoke(
        app, ["runs", "show", result.run_id, "--json", "--workspace", str(workspace.root)]
    )
    assert shown.exit_code == 0, shown.output
    assert RunRecord.model_validate(json.loads(shown.stdout)) == stored
