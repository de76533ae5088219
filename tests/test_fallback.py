"""A request one expert could not answer goes once to the expert the router ranks next, and
the answer comes from whichever of the two answered."""

from __future__ import annotations

import numpy as np
import pytest

from podium import ExpertResult, expert
from podium.orchestrator.fallback import fallback_steps, superseded
from podium.orchestrator.plan import Plan, Step
from podium.orchestrator.semantic_router import RouterSettings
from podium.orchestrator.state import StepOutcome

from .scripted import plan_json


class ScriptedRouter:
    """The router's scores for each text, as given (expert order: ``names``)."""

    def __init__(self, scores: dict[str, list[float]], settings: RouterSettings | None = None):
        self.names = ["nl2sql", "retrieval", "fact_check"]
        self.settings = settings or RouterSettings()
        self._scores = scores

    def scores(self, texts: list[str]) -> np.ndarray:
        return np.asarray([self._scores[t] for t in texts], dtype=np.float32)


FOUNDED = "When was the shop founded?"
CUSTOMERS = "How many customers do we have?"
ROUTER = ScriptedRouter({FOUNDED: [0.35, 0.39, 0.04], CUSTOMERS: [0.73, 0.41, 0.10]})


def outcome(step: Step, status: str = "ok", confidence: float = 0.9, **extra) -> StepOutcome:
    return StepOutcome(
        step_id=step.id,
        expert=step.expert,
        input=step.input,
        status=status,  # type: ignore[typeddict-item]
        output=extra.get("output"),
        summary=None,
        confidence=confidence,
        evidence=[],
        cost={},
        details={},
        error=extra.get("error"),
    )


def plan(*steps: Step) -> Plan:
    return Plan(steps=list(steps))


S1 = Step(id="s1", expert="nl2sql", input=FOUNDED)
S2 = Step(id="s2", expert="nl2sql", input=CUSTOMERS)


def added(p: Plan, results: dict[str, StepOutcome], fallbacks=None, router=ROUTER, steps=8):
    return fallback_steps(
        p, results, fallbacks or {}, lambda: router, min_confidence=0.3, max_steps=steps
    )  # type: ignore[arg-type]


def test_a_failed_request_goes_to_the_next_expert_the_router_ranks_near():
    results = {
        "s1": outcome(S1, "failed", 0.0, error="the database does not seem to record it"),
        "s2": outcome(S2),
    }

    [fallback] = added(plan(S1, S2), results)

    assert fallback.step == Step(id="s3", expert="retrieval", input=FOUNDED)
    assert fallback.replaces == "s1"
    assert fallback.reason == "nl2sql did not answer s1 (it failed); retrieval tries"


def test_an_answer_below_the_stated_confidence_gets_a_second_expert_too():
    [fallback] = added(plan(S1), {"s1": outcome(S1, confidence=0.1)})
    assert fallback.reason == "nl2sql did not answer s1 (confidence 0.10); retrieval tries"


@pytest.mark.parametrize(
    "result",
    [
        outcome(S2, "failed", 0.0, error="no such table"),  # retrieval far below (0.41 vs 0.73)
        outcome(S2, confidence=0.9),  # answered
        outcome(S2, "skipped", 0.0, error="not run: s0 did not succeed"),
        outcome(S2, "failed", 0.0, error="rejected before running: not approved"),
        outcome(S2, confidence=0.0, output={"refused": "write", "message": "Podium only reads"}),
    ],
)
def test_no_second_expert_where_it_cannot_help(result):
    assert added(plan(S2), {"s2": result}) == []


def test_each_request_is_retried_once_within_the_step_limit_and_only_if_nothing_waits_on_it():
    failed = {"s1": outcome(S1, "failed", 0.0, error="x")}
    assert added(plan(S1), failed, fallbacks={"s3": "s1"}) == []  # tried already
    assert added(plan(S1), failed, steps=1) == []  # the run's step limit
    later = Step(id="s2", expert="retrieval", input="{s1}", depends_on=["s1"])
    assert added(plan(S1, later), failed) == []  # its dependants were skipped already


def test_a_question_never_goes_to_the_claim_checker():
    router = ScriptedRouter({FOUNDED: [0.35, 0.10, 0.38]})
    assert added(plan(S1), {"s1": outcome(S1, "failed", 0.0, error="x")}, router=router) == []


def test_the_margin_is_a_setting_and_none_turns_fallbacks_off():
    failed = {"s1": outcome(S1, "failed", 0.0, error="x")}
    off = ScriptedRouter(ROUTER._scores, RouterSettings(fallback_margin=None))
    assert added(plan(S1), failed, router=off) == []


def test_the_answer_reports_the_first_failure_only_when_the_second_expert_did_not_answer():
    s3 = Step(id="s3", expert="retrieval", input=FOUNDED)
    failed = outcome(S1, "failed", 0.0, error="x")
    answered = {"s1": failed, "s3": outcome(s3, confidence=0.6)}
    unanswered = {"s1": failed, "s3": outcome(s3, confidence=0.05)}
    assert superseded(answered, {"s3": "s1"}, 0.3) == {"s1"}
    assert superseded(unanswered, {"s3": "s1"}, 0.3) == {"s3"}
    assert superseded({"s1": failed}, {"s3": "s1"}, 0.3) == set()  # not run yet


@expert(description="Answers questions about the shop from its database: customers, orders, dates.")
def shop_database(text: str) -> ExpertResult:
    return ExpertResult(error="the database does not seem to record it")


@expert(description="Finds passages in the shop's documents.")
def shop_documents(text: str) -> str:
    return "The shop was founded in 2019 in Rotterdam."


@pytest.mark.slow  # the router reads with the real embedded encoder
def test_a_request_the_database_cannot_answer_is_answered_from_the_documents(make_podium):
    podium = make_podium(
        plan_json(("s1", "shop_database", FOUNDED)),
        "The shop was founded in 2019 in Rotterdam.",
        experts=[shop_database, shop_documents],
        semantic_check=True,
    )

    result = podium.run(FOUNDED)

    assert result.status == "done"
    assert "founded in 2019 in Rotterdam" in result.answer
    assert "could not answer" not in result.answer
    [note] = [e for e in result.events if e.get("kind") == "fallback"]
    assert note["step_id"] == "s2" and note["expert"] == "shop_documents"
    assert note["data"]["for"] == "s1"
    assert [s["id"] for s in result.plan["steps"]] == ["s1", "s2"]
    assert note["data"]["plan"] == result.plan.model_dump(mode="json")
    assert podium.store.get_run(result.run_id)["plan"] == result.plan  # `podium runs show`
    assert result.plan["notes"][-1] == (
        "s2: shop_database did not answer s1 (it failed); shop_documents tries"
    )
