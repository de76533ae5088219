"""The planner cascade: the router plans what it is sure of, the planner model the rest."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import pytest

from podium import expert
from podium.orchestrator.planner_cascade import CascadeSettings, router_decision
from podium.orchestrator.semantic_router import Route
from podium.orchestrator.tiebreak import TieBreak, small_model_tiebreaker

from .scripted import plan_json


class ScriptedRouter:
    """Routes each clause as scripted: clause text -> (expert, score, margin[, others])."""

    def __init__(self, table: dict[str, tuple[Any, ...]]) -> None:
        self.table = table

    def routes(self, texts: list[str]) -> list[Route]:
        return [Route(*self.table[t]) for t in texts]


ORDERS = "How many orders were placed in 2024?"
POLICY = "what is the return policy for damaged items?"  # as split_clauses returns it
COMPOUND = "How many orders were placed in 2024, and what is the return policy for damaged items?"


def test_a_clear_compound_task_is_planned_by_the_router_one_step_per_request():
    router = ScriptedRouter({ORDERS: ("nl2sql", 0.84, 0.52), POLICY: ("retrieval", 1.0, 0.53)})
    decision = router_decision(router, COMPOUND, max_steps=8)
    assert decision.accepted
    assert [(s.expert, s.input) for s in decision.plan.steps] == [
        ("nl2sql", ORDERS),
        ("retrieval", POLICY),
    ]
    assert decision.confidence == pytest.approx(0.52)
    assert "semantic router" in decision.plan.notes[0]


def test_a_request_close_to_two_experts_goes_to_the_planner_model():
    claim = "Is it true that every product carries a three-year warranty?"
    router = ScriptedRouter({claim: ("retrieval", 0.57, 0.12)})
    decision = router_decision(router, claim, max_steps=8)
    assert not decision.accepted
    assert "close to two experts" in decision.reason and "0.12" in decision.reason


def test_the_weakest_request_decides():
    router = ScriptedRouter({ORDERS: ("nl2sql", 0.84, 0.52), POLICY: ("retrieval", 0.6, 0.05)})
    decision = router_decision(router, COMPOUND, max_steps=8)
    assert not decision.accepted
    assert decision.confidence == pytest.approx(0.05)


def test_a_request_no_expert_fits_well_goes_to_the_planner_model():
    task = "Tell me a joke about penguins."
    router = ScriptedRouter({task: ("retrieval", 0.2, 0.15)})
    decision = router_decision(router, task, max_steps=8, settings=CascadeSettings(min_margin=0.1))
    assert not decision.accepted
    assert "no expert fits" in decision.reason


def test_a_request_that_refers_back_needs_the_planner_to_connect_it():
    task = "What is the maximum capacity of all stadiums, and what is their average capacity?"
    router = ScriptedRouter({})  # never consulted
    decision = router_decision(router, task, max_steps=8)
    assert not decision.accepted
    assert "refers to another request" in decision.reason


def test_follow_ups_too_many_requests_and_a_disabled_cascade_go_to_the_planner_model():
    router = ScriptedRouter({ORDERS: ("nl2sql", 0.9, 0.6), POLICY: ("retrieval", 0.9, 0.6)})
    assert not router_decision(router, ORDERS, max_steps=8, follow_up=True).accepted
    assert not router_decision(router, COMPOUND, max_steps=1).accepted
    off = CascadeSettings(enabled=False)
    assert not router_decision(router, ORDERS, max_steps=8, settings=off).accepted


@expert(
    description="Tells the current weather and temperature forecast for a city.",
    examples=("What is the weather in Paris?", "Will it rain in Berlin tomorrow?"),
)
def weather(text: str) -> str:
    return "sunny, 21 °C"


@expert(
    description="Converts amounts of money between currencies at today's exchange rate.",
    examples=("Convert 100 US dollars to euros.", "How many yen is 50 pounds?"),
)
def currency(text: str) -> str:
    return "92.10 EUR"


def test_a_run_planned_by_the_router_says_so_and_never_calls_the_planner_model(make_podium):
    # The only scripted reply is the synthesizer's: a planner call would take it and fail.
    podium = make_podium(
        "It is sunny and 21 °C in Paris; 100 US dollars are 92.10 euros.",
        experts=[weather, currency],
        semantic_check=True,
    )
    result = podium.run("What is the weather in Paris, and how many euros is 100 US dollars?")

    plan_event = next(e for e in result.events if e["type"] == "plan")
    assert plan_event["planned_by"] == "router"
    assert plan_event["cascade"].startswith("router:")
    assert [(s["expert"]) for s in result.plan["steps"]] == ["weather", "currency"]
    assert result.answer == "It is sunny and 21 °C in Paris; 100 US dollars are 92.10 euros."


def test_with_the_cascade_off_the_planner_model_plans(make_podium):
    podium = make_podium(
        plan_json(("s1", "weather", "weather in Paris")),
        "It is sunny in Paris, 21 °C.",
        experts=[weather, currency],
        semantic_check=True,
        planner_cascade=False,
    )
    result = podium.run("What is the weather in Paris?")
    plan_event = next(e for e in result.events if e["type"] == "plan")
    assert plan_event["planned_by"] == "model"
    assert result.answer == "It is sunny in Paris, 21 °C."


# -- the small model's tie-breaker on clauses close to two experts -------------------------


class ScriptedTieBreaker:
    """Answers each clause as scripted: clause text -> (choice, probability); records asks."""

    def __init__(self, answers: dict[str, tuple[str, float]]) -> None:
        self.answers = answers
        self.asked: list[tuple[str, tuple[str, ...]]] = []

    def __call__(self, clause: str, options: Sequence[str]) -> TieBreak:
        self.asked.append((clause, tuple(options)))
        choice, p = self.answers[clause]
        return TieBreak(clause, tuple(options), choice, p, ms=800.0, new_tokens=25, model="small")


CANCELLED = "What was the total value of cancelled orders?"
CLOSE = {CANCELLED: ("nl2sql", 0.57, 0.23, ("retrieval", "fact_check"))}


def test_a_close_request_the_small_model_confirms_is_planned_by_the_router():
    tiebreaker = ScriptedTieBreaker({CANCELLED: ("nl2sql", 0.93)})
    decision = router_decision(ScriptedRouter(CLOSE), CANCELLED, max_steps=8, tiebreaker=tiebreaker)
    assert decision.accepted
    assert [(s.expert, s.input) for s in decision.plan.steps] == [("nl2sql", CANCELLED)]
    assert tiebreaker.asked == [(CANCELLED, ("nl2sql", "retrieval"))]  # the top two
    assert [t.confidence for t in decision.tiebreaks] == [0.93]
    assert decision.plan.notes[1] == (
        "tie-break: the small model chose nl2sql among nl2sql, retrieval for "
        f"{CANCELLED!r} (p 0.93)"
    )
    assert "confirmed by the small model" in decision.reason


def test_an_unsure_tie_breaker_sends_the_task_to_the_planner_model():
    tiebreaker = ScriptedTieBreaker({CANCELLED: ("nl2sql", 0.58)})
    decision = router_decision(ScriptedRouter(CLOSE), CANCELLED, max_steps=8, tiebreaker=tiebreaker)
    assert not decision.accepted
    assert "close to two experts" in decision.reason and "(p 0.58)" in decision.reason
    assert len(decision.tiebreaks) == 1  # recorded even when it did not decide


def test_a_tie_breaker_that_picks_the_runner_up_does_not_overrule_the_router():
    tiebreaker = ScriptedTieBreaker({CANCELLED: ("retrieval", 0.99)})
    decision = router_decision(ScriptedRouter(CLOSE), CANCELLED, max_steps=8, tiebreaker=tiebreaker)
    assert not decision.accepted
    assert "chose retrieval" in decision.reason and "not the router's nl2sql" in decision.reason


def test_without_a_tie_breaker_a_close_request_goes_to_the_planner_model_as_before():
    decision = router_decision(ScriptedRouter(CLOSE), CANCELLED, max_steps=8, tiebreaker=None)
    assert not decision.accepted and decision.tiebreaks == ()
    assert decision.reason == f"{CANCELLED!r} is close to two experts (margin 0.23 < 0.30)"

    tiebreaker = ScriptedTieBreaker({CANCELLED: ("nl2sql", 0.99)})
    off = CascadeSettings(tiebreak=False)
    decision = router_decision(
        ScriptedRouter(CLOSE), CANCELLED, max_steps=8, settings=off, tiebreaker=tiebreaker
    )
    assert not decision.accepted and tiebreaker.asked == []


def test_a_failing_tie_breaker_sends_the_task_to_the_planner_model():
    def broken(clause: str, options: Sequence[str]) -> TieBreak:
        raise RuntimeError("llama.cpp could not load the model")

    decision = router_decision(ScriptedRouter(CLOSE), CANCELLED, max_steps=8, tiebreaker=broken)
    assert not decision.accepted
    assert decision.reason.endswith("tie-breaker failed: llama.cpp could not load the model")


def test_only_clear_enough_requests_are_put_to_the_tie_breaker():
    router = ScriptedRouter(
        {ORDERS: ("nl2sql", 0.84, 0.52, ("retrieval",)), POLICY: ("retrieval", 0.40, 0.05)}
    )
    tiebreaker = ScriptedTieBreaker({})
    decision = router_decision(router, COMPOUND, max_steps=8, tiebreaker=tiebreaker)
    assert not decision.accepted and "no expert fits" in decision.reason
    assert tiebreaker.asked == []  # a request no expert fits well is the planner's

    router = ScriptedRouter(
        {
            ORDERS: ("nl2sql", 0.84, 0.52, ("retrieval",)),
            POLICY: ("retrieval", 0.6, 0.12, ("fact_check",)),
        }
    )
    tiebreaker = ScriptedTieBreaker({POLICY: ("retrieval", 0.9)})
    decision = router_decision(router, COMPOUND, max_steps=8, tiebreaker=tiebreaker)
    assert decision.accepted
    assert tiebreaker.asked == [(POLICY, ("retrieval", "fact_check"))]  # not the clear one


def test_the_tie_breaker_runs_on_the_small_model_its_threshold_was_fitted_for():
    assert small_model_tiebreaker({"small": "local:smollm2"}, registry=None) is None
    assert small_model_tiebreaker({"small": "openai:gpt-4o-mini"}, registry=None) is None
    assert small_model_tiebreaker({}, registry=None) is None


def test_a_run_planned_with_the_tie_breakers_help_records_it(make_podium):
    podium = make_podium(
        "It is sunny in Paris, 21 °C.",
        experts=[weather, currency],
        semantic_check=True,
    )
    task = "What is the weather in Paris?"
    podium.context.router = ScriptedRouter({task: ("weather", 0.6, 0.1, ("currency",))})
    podium.context.tiebreaker = ScriptedTieBreaker({task: ("weather", 0.95)})
    result = podium.run(task)

    plan_event = next(e for e in result.events if e["type"] == "plan")
    assert plan_event["planned_by"] == "router"
    assert "confirmed by the small model" in plan_event["cascade"]
    assert any(
        n.startswith("tie-break: the small model chose weather") for n in plan_event["notes"]
    )
    [plan_entry] = [e for e in result.ledger if e["node"] == "plan"]
    assert plan_entry["model"] == "small" and plan_entry["input_tokens"] == 25


@pytest.mark.slow
def test_the_small_model_breaks_a_close_tie_between_the_database_and_the_documents(demo):
    from podium import Podium
    from podium.models.catalog import QWEN_05B
    from podium.models.files import is_installed

    if not is_installed(QWEN_05B):
        pytest.skip("the 0.5B model of the ladder is not installed")
    podium = Podium(workspace=demo, small=QWEN_05B.uri, plugins=False, store=False, warmup=False)
    tiebreaker = podium.context.tiebreaker
    assert tiebreaker is not None
    # The router: nl2sql 0.57, retrieval 0.33 (a margin of 0.23, under the cascade's 0.30).
    answer = tiebreaker(CANCELLED, ("nl2sql", "retrieval"))
    podium.close()
    assert answer.choice == "nl2sql"
    assert answer.confidence >= CascadeSettings().tiebreak_confidence
    assert answer.new_tokens > 0 and answer.model == QWEN_05B.uri
