"""Human approval: a run waits at a checkpoint, the rest of the plan goes on, and the answer
decides what happens to the waiting step."""

from __future__ import annotations

import pytest

from podium import ExpertResult, Podium, expert
from podium.errors import InputRejected
from podium.graphs import pipeline

from .scripted import RuleChatModel, plan_json

calls: list[str] = []


@expert
def lookup(text: str) -> str:
    """Looks up a fact and returns it."""
    calls.append(text)
    return f"fact about {text}"


@expert
def export(text: str) -> ExpertResult:
    """Exports many rows; a person should look before the result is used."""
    calls.append(f"export {text}")
    return ExpertResult(
        output={"rows": 5000},
        summary="5000 rows exported",
        confidence=0.9,
        needs_approval="5,000 rows is over the 1,000-row limit",
    )


def _answer(messages):
    if str(messages[0].content).startswith("You are the planner"):
        return plan_json(("s1", "export", "all orders"), ("s2", "lookup", "owls"))
    facts = str(messages[-1].content)
    return "Summary of results: " + facts.split("Results:", 1)[-1]


@pytest.fixture
def podium(workspace):
    calls.clear()
    return Podium(
        planner=RuleChatModel(rule=_answer),
        experts=[lookup, export],
        workspace=workspace,
        builtins=False,
        plugins=False,
        warmup=False,
        semantic_check=False,
    )


def test_a_step_marked_for_approval_waits_while_independent_steps_finish(workspace):
    calls.clear()
    wf = pipeline(("lookup", "tides"), ("lookup", "moons"), parallel=True, approve={"s2"})
    podium = Podium(
        planner=RuleChatModel(rule=_answer),
        workflow=wf,
        experts=[lookup],
        workspace=workspace,
        builtins=False,
        plugins=False,
        warmup=False,
    )
    paused = podium.run("tides and moons")

    assert paused.status == "awaiting_approval"
    assert [p["step_id"] for p in paused.pending_approvals] == ["s2"]
    assert paused.pending_approvals[0]["when"] == "before"
    assert calls == ["tides"]  # s1 ran; s2 waits and has not run
    assert paused.events[-1]["type"] == "run_paused"

    done = podium.resume(paused.run_id, approvals={"s2": True})
    assert done.status == "done"
    assert calls == ["tides", "moons"]  # s1 is not run again
    assert {s["step_id"]: s["status"] for s in done.steps} == {"s1": "ok", "s2": "ok"}
    assert podium.store.get_run(paused.run_id)["status"] == "done"


def test_rejecting_before_running_fails_the_step_and_skips_its_dependents(workspace):
    calls.clear()
    wf = pipeline(
        ("lookup", "tides"), ("lookup", "moons"), ("lookup", "more on {s2}"), approve={"s2"}
    )
    podium = Podium(
        planner=RuleChatModel(rule=_answer),
        workflow=wf,
        experts=[lookup],
        workspace=workspace,
        builtins=False,
        plugins=False,
        warmup=False,
    )
    paused = podium.run("tides then moons")
    done = podium.resume(paused.run_id, approvals={"s2": {"approved": False, "note": "no"}})

    steps = {s["step_id"]: s for s in done.steps}
    assert steps["s2"]["status"] == "failed" and "rejected" in steps["s2"]["error"]
    assert steps["s3"]["status"] == "skipped"
    assert done.status == "partial"
    assert calls == ["tides"]


def test_an_expert_can_ask_for_approval_of_its_result(podium):
    paused = podium.run("export everything and tell me about owls")
    assert paused.status == "awaiting_approval"
    pending = paused.pending_approvals[0]
    assert (pending["step_id"], pending["when"]) == ("s1", "after")
    assert "1,000-row limit" in pending["reason"]
    assert calls == ["export all orders", "owls"]

    done = podium.resume(paused.run_id, approvals={"s1": True})
    assert done.status == "done"
    assert "5000 rows exported" in done.answer
    assert calls == ["export all orders", "owls"]  # nothing ran twice
    kinds = [e["type"] for e in podium.store.get_run(paused.run_id)["events"]]
    assert kinds.count("approval_required") == 1
    assert "approval" in kinds and kinds[-1] == "run_finished"


def test_answering_an_unknown_step_is_refused(podium):
    paused = podium.run("export everything and tell me about owls")
    with pytest.raises(InputRejected, match="no approval is pending for step s9"):
        podium.resume(paused.run_id, approvals={"s9": True})
    assert podium.resume(paused.run_id, approvals={"s1": False}).status == "partial"
