"""Verified examples are recorded only with a voucher, and a thumbs-down removes one."""

from __future__ import annotations

import asyncio
import json

import pytest
from typer.testing import CliRunner

from podium import ExpertContext, ExpertResult, Podium, expert
from podium.cli import app
from podium.learning import ExampleStore, StepNotFound, may_vouch

from ..scripted import RuleChatModel, plan_json


@expert
async def sql_lookup(text: str, ctx: ExpertContext) -> ExpertResult:
    """Answers a question with rows (a stand-in for a database expert)."""
    await asyncio.sleep(0)
    return ExpertResult(
        output={"sql": f"SELECT 1 -- {text}", "columns": ["n"], "rows": [[1]], "row_count": 1},
        summary="n: 1",
        confidence=0.95,
    )


@expert
async def careful_export(text: str) -> ExpertResult:
    """Exports rows; a person approves the result before it is used."""
    await asyncio.sleep(0)
    return ExpertResult(
        output={"sql": f"SELECT * FROM {text}", "rows": [[1]]},
        summary="1 row exported",
        confidence=0.9,
        needs_approval="exports leave the workspace",
    )


def _podium(workspace, plan: str, answer: str) -> Podium:
    def rule(messages: list) -> str:
        return plan if str(messages[0].content).startswith("You are the planner") else answer

    return Podium(
        planner=RuleChatModel(rule=rule),
        experts=[sql_lookup, careful_export],
        workspace=workspace,
        builtins=False,
        plugins=False,
        warmup=False,
        semantic_check=False,
    )


def test_a_confident_step_alone_is_not_an_example(workspace) -> None:
    podium = _podium(workspace, plan_json(("s1", "sql_lookup", "how many")), "One.")
    result = podium.run("how many")
    assert result.status == "done" and result.steps[0]["confidence"] == 0.95
    assert ExampleStore(podium.store).examples() == []


def test_a_run_that_nothing_can_vouch_for_is_not_read_back_to_harvest(
    workspace, monkeypatch
) -> None:
    podium = _podium(workspace, plan_json(("s1", "sql_lookup", "how many")), "One.")
    store_type = type(podium.store)
    read_back: list[str] = []
    get_run = store_type.get_run

    def counted(self, run_id: str):
        read_back.append(run_id)
        return get_run(self, run_id)

    monkeypatch.setattr(store_type, "get_run", counted)

    result = podium.run("how many")

    assert result.status == "done" and read_back == []
    assert podium.store.get_run(result.run_id)["steps"][0]["output"]["rows"] == [[1]]


def test_what_can_vouch_for_a_step_is_a_note_an_approval_or_a_cross_checked_output() -> None:
    plain = [{"sql": "SELECT 1", "rows": [[1]]}, "text", None]
    assert not may_vouch(plain, {"run_started", "step_started", "step_finished"})
    assert may_vouch(plain, {"step_finished", "expert_note"})
    assert may_vouch(plain, {"approval"})
    assert may_vouch([*plain, {"claims": [{"outcome": "agreed"}]}], {"step_finished"})
    assert may_vouch([{"rerank": []}], set())


def test_a_person_approving_a_result_vouches_for_it(workspace) -> None:
    podium = _podium(workspace, plan_json(("s1", "careful_export", "orders")), "Exported.")
    paused = podium.run("export orders")
    assert paused.status == "awaiting_approval"
    assert ExampleStore(podium.store).examples() == []
    done = podium.resume(paused.run_id, approvals={"s1": True})
    assert done.status == "done"
    [example] = ExampleStore(podium.store).examples("careful_export")
    assert example.voucher == "approval" and example.sql == "SELECT * FROM orders"
    assert example.provenance[0]["by"] == "person"


def test_feedback_good_then_bad_adds_then_removes_the_example(workspace) -> None:
    podium = _podium(workspace, plan_json(("s1", "sql_lookup", "how many")), "One.")
    run_id = podium.run("how many").run_id
    cli = CliRunner()
    good = cli.invoke(
        app, ["feedback", run_id[:6], "s1", "good", "--workspace", str(workspace.root), "--json"]
    )
    assert good.exit_code == 0, good.output
    [added] = json.loads(good.stdout)
    assert (added["voucher"], added["input"]) == ("feedback", "how many")
    store = ExampleStore(podium.store)
    assert [e.sql for e in store.examples("sql_lookup")] == ["SELECT 1 -- how many"]

    bad = cli.invoke(app, ["feedback", run_id, "s1", "bad", "--workspace", str(workspace.root)])
    assert bad.exit_code == 0, bad.output
    assert "1 example(s) removed" in bad.stderr
    assert store.examples("sql_lookup") == []
    [removed] = store.examples("sql_lookup", status="removed")
    assert [p["kind"] for p in removed.provenance] == ["feedback", "removed"]


def test_a_step_judged_bad_is_not_harvested_again(workspace) -> None:
    podium = _podium(workspace, plan_json(("s1", "careful_export", "orders")), "Exported.")
    paused = podium.run("export orders")
    podium.resume(paused.run_id, approvals={"s1": True})
    store = ExampleStore(podium.store)
    store.feedback(paused.run_id, "s1", "bad")
    assert store.harvest(paused.run_id) == []
    assert store.examples() == []


def test_feedback_on_an_unknown_step_names_the_steps_there_are(workspace) -> None:
    podium = _podium(workspace, plan_json(("s1", "sql_lookup", "how many")), "One.")
    run_id = podium.run("how many").run_id
    with pytest.raises(StepNotFound) as info:
        ExampleStore(podium.store).feedback(run_id, "s7", "good")
    assert info.value.hint == "its steps: s1"
    res = CliRunner().invoke(
        app, ["feedback", run_id, "s7", "good", "--workspace", str(workspace.root)]
    )
    assert res.exit_code == 1 and "no step 's7'" in res.stderr
