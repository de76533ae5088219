"""The fact-check expert's cascade on real models: the shipped small verifier, and the ladder's
1.5B as the judge (or a scripted large model where only the accounting is under test)."""

from __future__ import annotations

import pytest

from podium.experts.base import ExpertContext
from podium.experts.fact_check import FactCheckExpert, FactCheckRequest
from podium.models.provider import ModelProvider

from ..scripted import RuleChatModel

pytestmark = pytest.mark.slow

ICE = (
    "Arctic sea ice extent has declined sharply since satellite records began in 1979, "
    "shrinking by about 13 percent per decade."
)
OTHER = "Polar bears depend on sea ice to hunt seals, their main prey."


def test_a_request_asks_for_the_cascade_and_its_large_calls_are_counted_within_the_budget():
    prompts: list[str] = []

    def answer(messages):
        prompts.append("\n".join(str(m.content) for m in messages))
        return "REFUTES"

    models = ModelProvider({"large": RuleChatModel(rule=answer)})
    expert = FactCheckExpert(judge_threshold=1.01, max_large_calls=1)  # every pair is unsure
    request = FactCheckRequest(
        text="Is it true that Arctic sea ice has been growing since 1979?",
        evidence=[ICE, OTHER],
        judge="cascade",
    )
    result = expert.run(request, ExpertContext(models=models))
    assert result.cost.large_calls == 1 and len(prompts) == 1  # the budget: one call
    assert "guessed:" in prompts[0]
    assert result.output["verdict"] == "REFUTES"

    plain = expert.run(request.model_copy(update={"judge": "none"}), ExpertContext(models=models))
    assert plain.cost.large_calls == 0 and len(prompts) == 1  # off by request

    alone = FactCheckExpert(judge="large").run(
        request.model_copy(update={"judge": None}), ExpertContext(models=models)
    )
    assert alone.cost.large_calls == 2 and len(prompts) == 3  # both sentences, no hint
    assert not any("guessed:" in p for p in prompts[1:])


def test_the_1_5b_judge_refutes_a_clearly_contradicted_claim():
    from podium.models.roles import default_roles

    models = ModelProvider(default_roles())
    if "1.5b" not in models.label(role="large"):
        pytest.skip("the ladder's 1.5B model is not installed")
    expert = FactCheckExpert(judge="large")  # the 1.5B judges the pair, calibrated
    request = FactCheckRequest(
        text="Is it true that Arctic sea ice has been growing since 1979?", evidence=[ICE]
    )
    result = expert.run(request, ExpertContext(models=models))
    (claim,) = result.output["claims"]
    assert result.cost.large_calls == 1
    assert claim["method"] == "slm+llm" and claim["llm_label"] == "REFUTES"
    assert result.output["verdict"] == "REFUTES", result.summary
