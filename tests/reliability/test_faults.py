"""Faults: experts that raise, hang, retry or return the wrong shape; model endpoints that
refuse, fail or talk nonsense; a store locked by someone else."""

from __future__ import annotations

import asyncio
import sqlite3

import pytest
from pydantic import BaseModel

from podium import Expert, ExpertResult, Podium, expert
from podium.errors import ModelUnavailable, PlanError, StoreUnavailable
from podium.graphs import pipeline
from tests.scripted import RuleChatModel, plan_json

from .fake_openai import FakeOpenAI


def _echo_answer(messages):
    return "Results: " + str(messages[-1].content).split("Results:", 1)[-1].strip()


def _podium(workspace, *experts, **kw):
    return Podium(
        planner=RuleChatModel(rule=_echo_answer),
        experts=list(experts),
        workspace=workspace,
        builtins=False,
        plugins=False,
        warmup=False,
        **kw,
    )


def test_a_transient_failure_is_retried_and_the_step_succeeds(workspace):
    attempts: list[int] = []

    @expert
    def flaky(text: str) -> str:
        """Fails with a connection error the first time it is called."""
        attempts.append(1)
        if len(attempts) == 1:
            raise ConnectionError("connection reset by peer")
        return "second time lucky"

    result = _podium(workspace, flaky, workflow=pipeline("flaky")).run("try twice")
    assert len(attempts) == 2
    assert result.steps[0]["status"] == "ok"


def test_a_permanent_failure_is_not_retried_and_is_recorded(workspace):
    attempts: list[int] = []

    @expert
    def picky(text: str) -> str:
        """Refuses its input as invalid."""
        attempts.append(1)
        raise ValueError("input makes no sense")

    result = _podium(workspace, picky, workflow=pipeline("picky")).run("something odd")
    assert len(attempts) == 1
    assert result.steps[0]["status"] == "failed"
    assert "input makes no sense" in result.steps[0]["error"]
    assert result.status == "partial"
    assert "did not succeed" in result.answer


def test_a_hanging_expert_is_cut_off_and_the_others_finish(workspace):
    @expert
    async def hangs(text: str) -> str:
        """Never answers."""
        await asyncio.sleep(3600)
        return text

    @expert
    def quick(text: str) -> str:
        """Answers at once."""
        return f"quick answer to {text}"

    hangs.timeout_s = 0.3
    wf = pipeline("hangs", "quick", parallel=True)
    result = _podium(workspace, hangs, quick, workflow=wf).run("two jobs")
    steps = {s["expert"]: s for s in result.steps}
    assert steps["hangs"]["status"] == "failed" and "timed out" in steps["hangs"]["error"]
    assert steps["quick"]["status"] == "ok"


def test_output_that_does_not_match_the_declared_schema_fails_the_step(workspace):
    class Total(BaseModel):
        amount: float
        currency: str

    class Adder(Expert):
        name = "adder"
        description = "Adds amounts and returns a total with its currency."
        output_model = Total

        def run(self, request, ctx):
            return ExpertResult(output={"amount": "lots"}, confidence=0.9)

    result = _podium(workspace, Adder(), workflow=pipeline("adder")).run("add it up")
    assert result.steps[0]["status"] == "failed"
    assert "does not match Total" in result.steps[0]["error"]


@pytest.mark.parametrize(("status", "says"), [(500, "server error"), (503, "server error")])
def test_a_planner_endpoint_that_fails_ends_the_run_clearly(workspace, status, says):
    with FakeOpenAI(lambda body: (status, "upstream exploded")) as fake:
        podium = Podium(
            planner=fake.uri,
            workspace=workspace,
            warmup=False,
            semantic_check=False,
            builtins=False,
            plugins=False,
            experts=[_lookup()],
        )
        with pytest.raises(ModelUnavailable, match=says):
            podium.run("What is up?")
    assert podium.store.list_runs()[0]["status"] == "failed"


def test_a_planner_that_talks_nonsense_gets_re_asked_then_fails(workspace):
    with FakeOpenAI(lambda body: (200, "I am not a plan, I am a teapot")) as fake:
        podium = Podium(
            planner=fake.uri,
            workspace=workspace,
            warmup=False,
            semantic_check=False,
            builtins=False,
            plugins=False,
            experts=[_lookup()],
        )
        with pytest.raises(PlanError, match="no valid plan in 3 attempts"):
            podium.run("What is up?")
        assert len(fake.requests) == 3  # asked, and re-asked twice with the problem


def test_a_synthesizer_endpoint_that_fails_mid_run_keeps_the_steps(workspace):
    def reply(body):
        first = body["messages"][0]["content"]
        if first.startswith("You are the planner"):
            return 200, plan_json(("s1", "lookup", "the weather"))
        return 500, "synthesizer down"

    with FakeOpenAI(reply) as fake:
        podium = Podium(
            planner=fake.uri,
            workspace=workspace,
            warmup=False,
            semantic_check=False,
            builtins=False,
            plugins=False,
            experts=[_lookup()],
        )
        with pytest.raises(ModelUnavailable):
            podium.run("What is the weather?")
    run = podium.store.list_runs()[0]
    stored = podium.store.get_run(run.run_id)
    assert stored["status"] == "failed"
    assert stored["steps"][0]["status"] == "ok"  # the finished step is kept


def test_a_locked_store_is_retried_then_reported(workspace, monkeypatch):
    monkeypatch.setenv("PODIUM_STORE_BUSY_TIMEOUT_S", "0.5")
    podium = _podium(workspace, _lookup(), workflow=pipeline("lookup"))  # short busy timeout
    holder = sqlite3.connect(workspace.store_url.removeprefix("sqlite:///"))
    holder.execute("BEGIN EXCLUSIVE")
    try:
        with pytest.raises(StoreUnavailable, match="locked by another process"):
            podium.run("look something up")
    finally:
        holder.rollback()
        holder.close()
    assert podium.run("look something up").status == "done"  # fine once released


def _lookup() -> Expert:
    @expert
    def lookup(text: str) -> str:
        """Looks up a fact."""
        return f"fact about {text}"

    return lookup
