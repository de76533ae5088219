import asyncio

from langchain_core.messages import BaseMessage

from podium.experts.base import ExpertContext, ExpertResult, TextRequest
from podium.models.provider import ModelProvider
from podium.orchestrator.collaboration import LargeModelExpert, SLMHint, draft_finalise
from podium.orchestrator.collaboration.hints import HEADER

from ..scripted import RuleChatModel
from .helpers import Scripted

REQ = TextRequest(text="Claim: sea levels are rising. Label it.")


def capture() -> tuple[ModelProvider, list[str]]:
    prompts: list[str] = []

    def rule(messages: list[BaseMessage]) -> str:
        prompts.append(str(messages[-1].content))
        return "the answer is SUPPORTS"

    return ModelProvider({"large": RuleChatModel(rule=rule)}), prompts


def test_hints_go_into_the_large_models_prompt_and_the_switch_turns_them_off() -> None:
    models, prompts = capture()
    hint = SLMHint(
        expert="fact_check",
        prediction="SUPPORTS",
        confidence=0.82,
        evidence=["Sea level rose 20 cm since 1900."],
    )
    large = LargeModelExpert(choices=["SUPPORTS", "REFUTES", "NOT_ENOUGH_INFO"])
    on = ExpertContext(models=models, options={"hints": [hint.model_dump()]})
    off = ExpertContext(models=models, options={"hints": [hint.model_dump()], "use_hints": False})
    r_on = asyncio.run(large.arun(REQ, on))
    asyncio.run(large.arun(REQ, off))
    assert HEADER in prompts[0]
    assert "- fact_check: SUPPORTS (confidence 0.82)" in prompts[0]
    assert "evidence: Sea level rose 20 cm since 1900." in prompts[0]
    assert HEADER not in prompts[1] and "0.82" not in prompts[1]
    assert r_on.output == "SUPPORTS"  # free text mapped onto the choices


def test_draft_is_kept_when_valid_and_sure_so_no_large_call() -> None:
    finaliser = Scripted("large", "fixed")
    out = asyncio.run(
        draft_finalise(
            Scripted("small", "draft", confidence=0.9),
            finaliser,
            REQ,
            ExpertContext(),
            accept_above=0.5,
        )
    )
    assert out.output == "draft" and not finaliser.calls
    assert out.details["collaboration"]["outcome"] == "draft_kept"


def test_invalid_draft_goes_to_the_finaliser_with_the_validation_feedback() -> None:
    def validate(result: ExpertResult) -> str | None:
        return None if result.output == "fixed" else "no such column: nmae"

    finaliser = Scripted("large", "fixed")
    out = asyncio.run(
        draft_finalise(
            Scripted("small", "SELECT nmae"), finaliser, REQ, ExpertContext(), validate=validate
        )
    )
    assert out.output == "fixed"
    assert finaliser.calls[0]["draft"] == "SELECT nmae"
    assert finaliser.calls[0]["feedback"] == "no such column: nmae"
    assert out.details["collaboration"]["outcome"] == "repaired"


def test_finaliser_that_cannot_repair_is_reported_unrepaired() -> None:
    out = asyncio.run(
        draft_finalise(
            Scripted("small", "bad"),
            Scripted("large", "worse"),
            REQ,
            ExpertContext(),
            validate=lambda r: "still wrong",
            max_repairs=2,
        )
    )
    info = out.details["collaboration"]
    assert info["outcome"] == "unrepaired" and info["repairs"] == 2
