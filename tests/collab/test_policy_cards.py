"""Policies a plan can carry, and the policy card a bench run writes for an expert."""

from __future__ import annotations

import json
from typing import Any

import pytest
from pydantic import BaseModel, ValidationError
from typer.testing import CliRunner

from podium import ExpertResult, expert
from podium.bench import run_bench
from podium.bench.cards import write_policy
from podium.bench.tasks.base import BenchTask
from podium.cli import app
from podium.experts.base import Expert, ExpertContext, TextRequest
from podium.orchestrator.plan import Plan, Step, plan_schema, validate_plan
from podium.orchestrator.policies import CascadePolicy, HintsPolicy, parse_policy, step_policy
from podium.orchestrator.policy_cards import choose, read_card

from ..scripted import RuleChatModel, plan_json


@expert
def hunch(text: str) -> ExpertResult:
    """Guesses whether a number is even, sure only when the number ends in 0."""
    k = int(text.split()[-1])
    return ExpertResult(output="even" if k % 2 == 0 else "odd?", confidence=0.9 if k % 2 else 0.2)


class Parity(BenchTask):
    """The small expert (``hunch``) is wrong and unsure on even numbers; the large model is
    always right. The cheapest strategy as good as the large model alone is a cascade."""

    name = "parity"
    expert = "hunch"

    def __init__(self) -> None:
        self.notes = []

    def calibration_examples(self) -> list[int]:
        return list(range(1, 41))

    def test_examples(self) -> list[int]:
        return list(range(41, 81))

    def small(self) -> Expert:
        return Flipped()

    def large(self) -> Expert:
        return Truth()

    def request(self, example: Any) -> BaseModel:
        return TextRequest(text=f"is it even: {example}")

    def context(self, example: Any) -> ExpertContext:
        return ExpertContext()

    def correct(self, result: ExpertResult, example: Any) -> bool:
        return result.output == ("even" if example % 2 == 0 else "odd")


class Flipped(Expert):
    """Right (and sure) on odd numbers, wrong (and unsure) on even ones."""

    name = "hunch"
    description = "scripted"

    async def arun(self, request: BaseModel, ctx: ExpertContext) -> ExpertResult:
        k = int(request.text.split()[-1])  # type: ignore[attr-defined]
        if k % 2:
            return ExpertResult(output="odd", confidence=0.9)
        return ExpertResult(output="odd", confidence=0.2)


class Truth(Expert):
    name = "truth"
    description = "scripted"

    async def arun(self, request: BaseModel, ctx: ExpertContext) -> ExpertResult:
        k = int(request.text.split()[-1])  # type: ignore[attr-defined]
        return ExpertResult(output="even" if k % 2 == 0 else "odd", confidence=0.7)


def test_a_policy_with_a_misspelt_option_is_refused_naming_it_and_the_policy() -> None:
    with pytest.raises(ValidationError, match=r"cascade\.options\.threshhold\n.*Extra inputs"):
        step_policy("cascade", {"threshhold": 0.4})
    with pytest.raises(ValidationError, match=r"vote\.options\.mode"):
        step_policy("vote", {"mode": "loudest"})
    with pytest.raises(ValidationError, match=r"policy\.verify\.options\.verifier\n"):
        Step(
            id="s1",
            expert="hunch",
            input="x",
            policy={"kind": "verify", "options": {"verifier": ["large"]}},
        )
    with pytest.raises(ValidationError, match=r"unknown policy kind 'telepathy'.*cascade"):
        step_policy("telepathy")


def test_each_policy_kind_is_its_own_typed_model() -> None:
    policy = step_policy("cascade", {"threshold": 0.4})
    assert isinstance(policy, CascadePolicy)
    assert (policy.options.threshold, policy.options.large) == (0.4, "large")  # typed defaults
    # It serialises as written, so plans and policy cards read back unchanged.
    assert policy.model_dump(mode="json") == {"kind": "cascade", "options": {"threshold": 0.4}}
    assert parse_policy(policy.model_dump(mode="json")) == policy
    hints = parse_policy({"kind": "hints", "options": {"from": ["hunch"]}})
    assert isinstance(hints, HintsPolicy) and hints.options.from_ == ["hunch"]
    assert hints.model_dump(mode="json")["options"] == {"from": ["hunch"]}


def test_the_constrained_plan_schema_accepts_and_validates_a_policy_only_when_asked() -> None:
    with_policy = plan_schema(["hunch", "truth"], with_policy=True)
    plan = with_policy.model_validate(
        {
            "steps": [
                {
                    "id": "s1",
                    "expert": "hunch",
                    "input": "is 4 even",
                    "policy": {"kind": "cascade", "options": {"threshold": 0.5}},
                }
            ]
        }
    )
    assert plan.steps[0].policy.kind == "cascade"
    bad = {"steps": [{"id": "s1", "expert": "hunch", "input": "is 4 even", "policy": {}}]}
    with pytest.raises(ValidationError, match="kind"):
        with_policy.model_validate(bad)
    # The planner's own schema has no policy field: the planner model never writes one.
    assert "policy" not in json.dumps(plan_schema(["hunch", "truth"]).model_json_schema())


def test_a_policy_that_names_an_unregistered_expert_is_a_plan_problem() -> None:
    step = Step(
        id="s1",
        expert="hunch",
        input="is 4 even",
        policy={"kind": "vote", "options": {"voters": ["hunch", "oracle", "large"]}},
    )
    problems = validate_plan(Plan(steps=[step]), ["hunch"])
    assert problems == [
        "step s1's vote policy names unknown expert 'oracle'; choose 'large' or one of ['hunch']"
    ]


def test_the_card_chooses_the_fewest_large_calls_within_a_point_of_the_best() -> None:
    report = run_bench(Parity(), ["small_only", "large_only", "cascade", "vote"])
    s = report.strategies
    assert s["large_only"].accuracy == 1.0 and s["cascade"].accuracy == 1.0
    assert s["cascade"].large_calls_per_example == 0.5
    assert choose(s) == "cascade"


def test_a_written_card_is_the_policy_a_plain_plan_step_runs_with(make_podium, workspace) -> None:
    report = run_bench(Parity(), ["small_only", "large_only", "cascade"])
    card, path = write_policy(report, Parity(), workspace)
    assert path.is_file() and read_card(workspace, "hunch") == card
    assert card.policy.kind == "cascade" and card.quality == 1.0
    assert isinstance(card.policy, CascadePolicy)
    assert card.policy.options.threshold == report.calibration["threshold"]

    # The planner names only the expert; the card supplies the cascade.
    podium = make_podium(
        plan_json(("s1", "hunch", "is it even: 12")),
        "It is even.",
        experts=[hunch],
        large=RuleChatModel(rule=lambda messages: "even"),
    )
    result = podium.run("Is 12 even?")
    (s1,) = result.steps
    assert s1["output"] == "even"
    assert s1["details"]["policy"] == {
        "kind": "cascade",
        "options": card.policy.model_dump(mode="json")["options"],
        "source": "card",
    }
    assert s1["details"]["collaboration"]["decision"] == "escalated"
    (entry,) = [e for e in result.ledger if e.get("step_id") == "s1"]
    assert entry["policy"] == "cascade" and entry["policy_source"] == "card"
    assert entry["collaboration"] == "escalated"
    notes = [e for e in result.events if e.get("kind") == "policy"]
    assert [(n["data"]["policy"], n["data"]["source"]) for n in notes] == [("cascade", "card")]


def test_a_policy_in_the_plan_wins_over_the_card(make_podium, workspace) -> None:
    report = run_bench(Parity(), ["small_only", "large_only", "cascade"])
    write_policy(report, Parity(), workspace)
    step = Step(id="s1", expert="hunch", input="is it even: 12", policy={"kind": "single"})

    async def planner(state: dict[str, Any], runtime: Any) -> dict[str, Any]:
        return {"plan": Plan(steps=[step]).model_dump(mode="json")}

    from podium.graphs import build_orchestrate_graph

    podium = make_podium(
        "It is even.",
        experts=[hunch],
        workflow=build_orchestrate_graph(planner=planner),
        large=RuleChatModel(rule=lambda messages: "odd"),
    )
    (s1,) = podium.run("Is 12 even?").steps
    assert s1["output"] == "even"  # the expert alone; the large model ("odd") was not asked
    assert s1["details"]["policy"]["source"] == "plan"


def test_experts_list_shows_the_policy_card(workspace) -> None:
    class ForFactCheck(Parity):
        expert = "fact_check"  # a built-in expert, so `podium experts list` lists it

    report = run_bench(ForFactCheck(), ["small_only", "large_only", "cascade"])
    card, _ = write_policy(report, ForFactCheck(), workspace)
    res = CliRunner().invoke(app, ["experts", "list", "-w", str(workspace.root), "--json"])
    assert res.exit_code == 0, res.output
    listed = {e["name"]: e for e in json.loads(res.output)["experts"]}
    assert listed["fact_check"]["policy"]["strategy"] == "cascade"
    assert listed["fact_check"]["policy"]["policy"] == card.policy.model_dump(mode="json")
    assert listed["schema_match"]["policy"] is None
    assert card.line().startswith("cascade(threshold=")
