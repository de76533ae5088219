"""The planner cascade: the router plans what it is sure of, the planner model the rest."""

from __future__ import annotations

import pytest

from podium import expert
from podium.orchestrator.planner_cascade import CascadeSettings, router_decision
from podium.orchestrator.semantic_router import Route

from .scripted import plan_json


class ScriptedRouter:
    """Routes each clause as scripted: clause text -> (expert, score, margin)."""

    def __init__(self, table: dict[str, tuple[str, float, float]]) -> None:
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
