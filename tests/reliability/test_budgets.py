"""Budgets: steps, tokens, large-model calls and wall time end a run cleanly, with what it has
and the reason."""

from __future__ import annotations

import asyncio
import json

import pytest

from podium import ExpertResult, Podium, expert
from podium.errors import PlanError
from podium.experts.base import Cost
from podium.graphs import pipeline
from podium.workspace import LimitsSpec
from tests.scripted import RuleChatModel, scripted


def _answer(messages):
    return "Results: " + str(messages[-1].content).split("Results:", 1)[-1].strip()


@expert
def spender(text: str) -> ExpertResult:
    """Answers, spending 600 model tokens and one large-model call."""
    return ExpertResult(
        output=f"answer to {text}",
        confidence=0.8,
        cost=Cost(model="big", input_tokens=500, output_tokens=100, large_calls=1),
    )


def _podium(workspace, limits, *stages, experts=(spender,)):
    return Podium(
        planner=RuleChatModel(rule=_answer),
        workflow=pipeline(*stages),
        experts=list(experts),
        workspace=workspace,
        builtins=False,
        plugins=False,
        warmup=False,
        limits=limits,
    )


def test_the_token_budget_stops_new_steps_and_keeps_the_finished_ones(workspace):
    podium = _podium(
        workspace,
        LimitsSpec(max_tokens=1000),
        ("spender", "one"),
        ("spender", "two"),
        ("spender", "three"),
    )
    result = podium.run("three expensive steps")
    status = {s["step_id"]: s["status"] for s in result.steps}
    assert status == {"s1": "ok", "s2": "ok", "s3": "skipped"}
    assert "token budget" in result.steps[2]["error"]
    assert result.status == "partial"
    assert result.answer.startswith("(Stopped early: the token budget")
    assert "answer to one" in result.answer and "answer to two" in result.answer


def test_the_large_model_budget_stops_escalations(workspace):
    podium = _podium(
        workspace, LimitsSpec(max_large_calls=1), ("spender", "one"), ("spender", "two")
    )
    result = podium.run("two escalating steps")
    assert [s["status"] for s in result.steps] == ["ok", "skipped"]
    assert "large-model budget" in result.steps[1]["error"]


def test_the_wall_time_budget_cuts_a_step_that_overruns(workspace):
    @expert
    async def slow(text: str) -> str:
        """Takes a minute."""
        await asyncio.sleep(60)
        return text

    @expert
    def fast(text: str) -> str:
        """Answers at once."""
        return f"fast answer to {text}"

    podium = Podium(
        planner=RuleChatModel(rule=_answer),
        workflow=pipeline("fast", "slow"),
        experts=[fast, slow],
        workspace=workspace,
        builtins=False,
        plugins=False,
        warmup=False,
        limits=LimitsSpec(max_seconds=1.0),
    )
    result = podium.run("fast then slow")
    assert result.status == "partial"
    assert "time budget (1 s)" in result.answer
    assert "fast answer to fast then slow" in result.answer
    assert podium.store.get_run(result.run_id)["status"] == "partial"


def test_a_planner_that_plans_a_thousand_steps_is_stopped(workspace):
    huge = json.dumps(
        {
            "steps": [
                {"id": f"s{i}", "expert": "spender", "input": f"job {i}", "depends_on": []}
                for i in range(1, 1001)
            ]
        }
    )
    podium = Podium(
        planner=scripted(huge, huge, huge),
        experts=[spender],
        workspace=workspace,
        builtins=False,
        plugins=False,
        warmup=False,
        semantic_check=False,
    )
    with pytest.raises(PlanError, match="at most 8"):
        podium.run("do everything")
    assert podium.store.list_runs()[0]["status"] == "failed"
