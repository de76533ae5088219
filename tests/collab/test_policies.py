"""The mechanisms as a plan step's policy and as a node in a user's own graph."""

from __future__ import annotations

import asyncio
import subprocess
import sys
import time
from typing import Any

import pytest
from langgraph.graph import END, START, StateGraph
from pydantic import ValidationError
from typing_extensions import TypedDict

from podium import ExpertResult, expert
from podium.experts.registry import ExpertRegistry
from podium.graphs import build_orchestrate_graph
from podium.models.provider import ModelProvider
from podium.orchestrator import policies
from podium.orchestrator.collaboration import collaboration_node
from podium.orchestrator.context import PodiumContext
from podium.orchestrator.plan import Plan, Step, validate_plan
from podium.orchestrator.policies import CustomPolicy

from ..scripted import RuleChatModel

CALLS: dict[str, int] = {"unsure": 0}


@expert
def unsure(text: str) -> ExpertResult:
    """Guesses a label for a claim, without much conviction."""
    CALLS["unsure"] += 1
    return ExpertResult(output="REFUTES", confidence=0.3)


@expert
def labeller(text: str) -> str:
    """Labels a claim as SUPPORTS or REFUTES."""
    # A little slower than `unsure`, so the vote counts all three voters before the second
    # SUPPORTS reaches a majority and the early exit cancels whoever is still running.
    time.sleep(0.2)
    return "SUPPORTS"


def planned(step: Step) -> Any:
    async def plan_node(state: dict[str, Any], runtime: Any) -> dict[str, Any]:
        return {"plan": Plan(steps=[step]).model_dump(mode="json")}

    return plan_node


def test_a_plan_step_with_a_vote_policy_records_the_vote(make_podium) -> None:
    step = Step(
        id="s1",
        expert="labeller",
        input="sea levels are rising",
        policy={"kind": "vote", "options": {"voters": ["labeller", "labeller", "unsure"]}},
    )
    podium = make_podium(
        *["The claim is supported."] * 3,
        experts=[labeller, unsure],
        workflow=build_orchestrate_graph(planner=planned(step)),
    )
    result = podium.run("Is it true that sea levels are rising?")
    (s1,) = result.steps
    assert s1["status"] == "ok" and s1["output"] == "SUPPORTS"
    info = s1["details"]["collaboration"]
    assert info["mechanism"] == "vote" and info["groups"] == [2, 1]
    assert info["margin"] > 0


def test_a_cascade_step_escalates_to_the_large_role(make_podium) -> None:
    step = Step(
        id="s1",
        expert="unsure",
        input="sea levels are rising",
        policy={"kind": "cascade", "options": {"threshold": 0.5}},
    )
    podium = make_podium(
        *["The large model says it is supported."] * 3,
        experts=[unsure],
        workflow=build_orchestrate_graph(planner=planned(step)),
        large=RuleChatModel(rule=lambda messages: "SUPPORTS"),
    )
    result = podium.run("Is it true that sea levels are rising?")
    (s1,) = result.steps
    assert s1["output"] == "SUPPORTS"
    assert s1["details"]["collaboration"]["decision"] == "escalated"
    assert any(e.get("kind") == "cascade_decision" for e in result.events)


def test_an_unknown_policy_is_refused_when_the_step_is_built() -> None:
    with pytest.raises(ValidationError, match="unknown policy kind 'telepathy'; use one of"):
        Step(id="s1", expert="labeller", input="x", policy={"kind": "telepathy"})


def test_a_registered_policy_kind_takes_its_own_options(monkeypatch) -> None:
    async def twice(exp, request, ctx, policy, runtime):  # runs the step's expert n times
        return [await exp.arun(request, ctx) for _ in range(policy.options["n"])][-1]

    monkeypatch.setitem(policies._POLICIES, "twice", twice)
    step = Step(
        id="s1",
        expert="labeller",
        input="x",
        policy={"kind": "twice", "options": {"n": 2, "voters": ["oracle"]}},
    )
    assert isinstance(step.policy, CustomPolicy) and step.policy.options["n"] == 2
    # Its options are its own, but an expert it names is still checked against the registry.
    assert validate_plan(Plan(steps=[step]), ["labeller"]) == [
        "step s1's twice policy names unknown expert 'oracle'; choose 'large' or one of "
        "['labeller']"
    ]


class QA(TypedDict, total=False):
    question: str
    answer: dict[str, Any]


def test_collaboration_node_in_a_users_own_graph() -> None:
    graph = StateGraph(QA, context_schema=PodiumContext)
    graph.add_node(
        "answer",
        collaboration_node(
            "labeller",
            "hints",
            {"from": ["labeller"], "choices": ["SUPPORTS", "REFUTES"]},
            input_key="question",
            output_key="answer",
        ),
    )
    graph.add_edge(START, "answer")
    graph.add_edge("answer", END)
    prompts: list[str] = []

    def rule(messages: Any) -> str:
        prompts.append(str(messages[-1].content))
        return "REFUTES"

    ctx = PodiumContext(
        registry=ExpertRegistry([labeller]),
        models=ModelProvider({"large": RuleChatModel(rule=rule)}),
    )
    out = asyncio.run(graph.compile().ainvoke({"question": "sea levels fall"}, context=ctx))
    assert out["answer"]["output"] == "REFUTES"
    assert "labeller: SUPPORTS" in prompts[0]
    assert out["answer"]["details"]["collaboration"]["mechanism"] == "hints"


BUILTIN_ON_DEMAND = '''
import asyncio

import podium.orchestrator.collaboration
from podium import expert
from podium.errors import InputRejected
from podium.experts.base import ExpertContext
from podium.orchestrator.policies import execute_step, step_policy


@expert
def labeller(text: str) -> str:
    """Labels a claim as SUPPORTS or REFUTES."""
    return "SUPPORTS"


def vote():
    request, ctx = labeller.parse_input("sea levels rise"), ExpertContext(step_id="s1")
    return asyncio.run(execute_step(labeller, request, ctx, step_policy("vote")))


try:
    vote()
except InputRejected as exc:
    print("imported:", exc.message)
podium.orchestrator.collaboration.register_builtin_policies()
print("registered:", vote().output)
'''


def test_importing_the_mechanisms_registers_no_policy_until_podium_is_composed() -> None:
    # A fresh interpreter: in this one a Podium built by another test has registered them.
    proc = subprocess.run(
        [sys.executable, "-c", BUILTIN_ON_DEMAND], capture_output=True, text=True, timeout=120
    )

    assert proc.returncode == 0, proc.stderr
    assert proc.stdout.splitlines() == [
        "imported: unknown collaboration policy 'vote'",
        "registered: SUPPORTS",
    ]
