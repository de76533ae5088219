"""The large model confirming a small expert's verdict vouches for it; its disagreement, or a
small expert's confidence alone, does not."""

from __future__ import annotations

from typing import Any

from podium import ExpertResult, Podium, expert
from podium.graphs import build_orchestrate_graph
from podium.learning import ExampleStore
from podium.orchestrator.plan import Plan, Step

from ..scripted import RuleChatModel


@expert
def claim_label(text: str) -> ExpertResult:
    """Labels a claim SUPPORTS or REFUTES, without much conviction."""
    return ExpertResult(output="SUPPORTS", summary="SUPPORTS", confidence=0.3)


def _planned(policy: dict[str, Any]) -> Any:
    async def plan_node(state: dict[str, Any], runtime: Any) -> dict[str, Any]:
        step = Step(id="s1", expert="claim_label", input=state["task"], policy=policy)
        return {"plan": Plan(steps=[step]).model_dump(mode="json")}

    return plan_node


def _podium(workspace, policy: dict[str, Any], large_says: str) -> Podium:
    return Podium(
        planner=RuleChatModel(rule=lambda messages: "The claim is supported."),
        large=RuleChatModel(rule=lambda messages: large_says),
        experts=[claim_label],
        workspace=workspace,
        workflow=build_orchestrate_graph(planner=_planned(policy)),
        builtins=False,
        plugins=False,
        warmup=False,
        semantic_check=False,
    )


CASCADE = {"kind": "cascade", "options": {"threshold": 0.5}}


def test_the_large_model_agreeing_in_a_cascade_makes_the_step_an_example(workspace) -> None:
    podium = _podium(workspace, CASCADE, large_says="SUPPORTS")
    result = podium.run("Sea levels are rising.")
    assert result.steps[0]["details"]["collaboration"]["decision"] == "escalated"
    [check] = [e for e in result.events if e.get("kind") == "large_check"]
    assert check["data"] == {"mechanism": "cascade", "round": 1, "agreed": True}

    [example] = ExampleStore(podium.store).examples("claim_label")
    assert (example.input, example.output) == ("Sea levels are rising.", "SUPPORTS")
    assert example.voucher == "large_confirmation"
    [mark] = example.provenance
    assert (mark["kind"], mark["by"]) == ("large_confirmation", "small+large")
    assert mark["detail"] == "the large model gave the same answer (cascade)"


def test_the_large_model_overruling_the_small_expert_vouches_for_nothing(workspace) -> None:
    podium = _podium(workspace, CASCADE, large_says="REFUTES")
    result = podium.run("Sea levels are rising.")
    assert result.steps[0]["output"] == "REFUTES"
    [check] = [e for e in result.events if e.get("kind") == "large_check"]
    assert check["data"]["agreed"] is False
    assert ExampleStore(podium.store).examples() == []


def test_a_small_answer_the_cascade_accepted_unchecked_is_no_example(workspace) -> None:
    podium = _podium(
        workspace, {"kind": "cascade", "options": {"threshold": 0.2}}, large_says="SUPPORTS"
    )
    result = podium.run("Sea levels are rising.")
    assert result.steps[0]["details"]["collaboration"]["decision"] == "accepted"
    assert not any(e.get("kind") == "large_check" for e in result.events)
    assert ExampleStore(podium.store).examples() == []


def test_the_large_model_as_verifier_agreeing_at_once_vouches_for_the_answer(workspace) -> None:
    podium = _podium(workspace, {"kind": "verify"}, large_says="supports")  # same, folded
    result = podium.run("Sea levels are rising.")
    assert result.steps[0]["details"]["collaboration"]["outcome"] == "agreed"
    [example] = ExampleStore(podium.store).examples("claim_label")
    assert example.output == "SUPPORTS"
    assert example.provenance[0]["detail"] == "the large model gave the same answer (verify)"


def test_a_verifier_that_only_agrees_after_seeing_the_answer_vouches_for_nothing(
    workspace,
) -> None:
    said: list[str] = []

    def large(messages: list) -> str:  # disagrees, then adopts the draft it is shown
        said.append("REFUTES" if not said else "SUPPORTS")
        return said[-1]

    podium = Podium(
        planner=RuleChatModel(rule=lambda messages: "Supported."),
        large=RuleChatModel(rule=large),
        experts=[claim_label],
        workspace=workspace,
        workflow=build_orchestrate_graph(planner=_planned({"kind": "verify"})),
        builtins=False,
        plugins=False,
        warmup=False,
        semantic_check=False,
    )
    result = podium.run("Sea levels are rising.")
    info = result.steps[0]["details"]["collaboration"]
    assert (info["outcome"], info["rounds"]) == ("agreed", 2)
    assert ExampleStore(podium.store).examples() == []
