import asyncio

from langchain_core.messages import BaseMessage

from podium.experts.base import ExpertContext, TextRequest
from podium.models.provider import ModelProvider
from podium.orchestrator.collaboration import DecisionLedger, LargeModelExpert, cross_verify

from ..scripted import RuleChatModel
from .helpers import Scripted

REQ = TextRequest(text="Is the claim supported?")


def test_generator_that_listens_converges_and_flips_are_counted() -> None:
    gen = Scripted("small", ["REFUTES"], revise=True)
    ver = Scripted("checker", "SUPPORTS")
    ledger = DecisionLedger()
    result = asyncio.run(
        cross_verify(gen, [ver], REQ, ExpertContext(), max_rounds=3, ledger=ledger)
    )
    info = result.details["collaboration"]
    assert result.output == "SUPPORTS"
    assert info["outcome"] == "agreed" and info["rounds"] == 2 and info["flips"] == 1
    assert info["dissent"] == 0
    assert gen.calls[1]["feedback"] == ["SUPPORTS"]  # the generator saw the dissent
    assert ledger.summary()["by_decision"] == {"verify:agreed": 1}


def test_round_limit_leaves_it_unresolved_with_halved_confidence() -> None:
    gen, ver = Scripted("small", "A", confidence=0.8), Scripted("checker", "B")
    result = asyncio.run(cross_verify(gen, [ver], REQ, ExpertContext(), max_rounds=2))
    info = result.details["collaboration"]
    assert info["outcome"] == "unresolved" and info["rounds"] == 2 and info["dissent"] == 1
    assert result.output == "A" and result.confidence == 0.4
    assert len(gen.calls) == 2 and len(ver.calls) == 2


def test_unresolved_escalates_to_the_large_model_with_both_sides_as_hints() -> None:
    seen: list[str] = []

    def rule(messages: list[BaseMessage]) -> str:
        seen.append(str(messages[-1].content))
        return "B"

    models = ModelProvider({"large": RuleChatModel(rule=rule)})
    gen, ver = Scripted("small", "A"), Scripted("checker", "B")
    result = asyncio.run(
        cross_verify(
            gen, [ver], REQ, ExpertContext(models=models), max_rounds=1, escalate=LargeModelExpert()
        )
    )
    assert result.output == "B" and result.details["collaboration"]["outcome"] == "escalated"
    assert "small: A" in seen[0] and "checker#0: B" in seen[0]


def test_unresolved_can_go_to_a_person() -> None:
    gen, ver = Scripted("small", "A"), Scripted("checker", "B")
    result = asyncio.run(
        cross_verify(gen, [ver], REQ, ExpertContext(), max_rounds=1, escalate="human")
    )
    assert result.needs_approval and "disagree" in result.needs_approval


def test_majority_consensus_over_several_verifiers() -> None:
    gen = Scripted("small", "A")
    vs = [Scripted("v1", "A"), Scripted("v2", "a"), Scripted("v3", "B")]
    all_rule = asyncio.run(cross_verify(gen, vs, REQ, ExpertContext(), max_rounds=1))
    majority = asyncio.run(cross_verify(gen, vs, REQ, ExpertContext(), consensus="majority"))
    assert all_rule.details["collaboration"]["outcome"] == "unresolved"
    assert majority.details["collaboration"]["outcome"] == "agreed"
    assert majority.details["collaboration"]["dissent"] == 1
