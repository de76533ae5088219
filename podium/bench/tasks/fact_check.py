"""fact_check: label a Climate-FEVER claim from its five evidence sentences.

Labels SUPPORTS / REFUTES / NOT_ENOUGH_INFO (DISPUTED claims are left out: no single right
answer). The small expert is the built-in fact-check expert with its shipped verifier (a
calibrated head on MiniLM pair features), given the claim and its evidence; its answer is the
claim's verdict and its confidence the expert's. A second small voter is the same expert with
the fine-tuned MiniLM cross-encoder verifier (``"cross"``). The large expert is the ``large``
chat model judging the claim against the evidence, constrained to the three labels.

Only claims the shipped verifier never saw in training are used (its weights list the claims
they were fit on), so the small expert is not scored on its own training data.
"""

from __future__ import annotations

import json
import random
from pathlib import Path
from typing import Any

from langchain_core.messages import BaseMessage, HumanMessage, SystemMessage
from pydantic import BaseModel

from podium.errors import InputRejected
from podium.experts.base import Expert, ExpertContext, ExpertResult
from podium.experts.fact_check import FactCheckExpert, FactCheckRequest, load_verifier
from podium.experts.fact_check.verifier import claim_key
from podium.models.provider import ModelProvider
from podium.orchestrator.collaboration import LargeModelExpert
from podium.orchestrator.collaboration.hints import SLMHint, with_hints

from .base import BenchTask

LABELS = ("SUPPORTS", "REFUTES", "NOT_ENOUGH_INFO")
SYSTEM = (
    "You check climate claims against evidence. Say SUPPORTS if the evidence supports the "
    "claim, REFUTES if it contradicts it, NOT_ENOUGH_INFO if it does neither."
)


def prompt(claim: str, evidence: list[str]) -> str:
    lines = "\n".join(f"- {e}" for e in evidence)
    return f"Claim: {claim}\nEvidence:\n{lines}\nLabel the claim."


class Verdict(Expert):
    """The fact-check expert with the claim's verdict as its output (what voters compare)."""

    input_model = FactCheckRequest

    def __init__(self, inner: FactCheckExpert, name: str) -> None:
        self.inner = inner
        self.name = name  # type: ignore[misc]
        self.description = inner.description  # type: ignore[misc]

    async def arun(self, request: BaseModel, ctx: ExpertContext) -> ExpertResult:
        result = await self.inner.arun(request, ctx)
        if not result.ok or not isinstance(result.output, dict):
            return result
        return result.model_copy(
            update={
                "output": result.output["verdict"],
                "details": {**result.details, "claims": result.output.get("claims", [])},
            }
        )


class ClaimJudge(LargeModelExpert):
    """The large model reading the claim and its evidence (and hints, a draft, feedback)."""

    def prompt(self, request: BaseModel, ctx: ExpertContext) -> list[BaseMessage]:
        assert isinstance(request, FactCheckRequest)
        task = prompt(request.text, request.evidence)
        options = ctx.options
        if options.get("draft") is not None:
            task += f"\n\nA first answer: {options['draft']}"
        if options.get("feedback"):
            task += f"\nAnother reviewer answered: {options['feedback']}"
        hints = [SLMHint.model_validate(h) for h in options.get("hints", [])]
        task = with_hints(task, hints, enabled=bool(options.get("use_hints", True)))
        task += "\n\nAnswer with exactly one of: " + ", ".join(LABELS) + "."
        return [SystemMessage(self.system), HumanMessage(task)]


class FactCheckTask(BenchTask):
    name = "fact_check"
    expert = "fact_check"

    def __init__(
        self, data: Path, *, n: int, small: str, large: str, calibration: int = 40, seed: int = 0
    ) -> None:
        path = data / "claims.jsonl"
        if not path.is_file():
            raise InputRejected(
                f"{path} not found", hint="point --data at the fact_check folder (claims.jsonl)"
            )
        records = [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines()]
        seen = load_verifier().trained_claims or frozenset()  # type: ignore[attr-defined]
        labelled = [r for r in records if r["claim_label"] in LABELS]
        claims = [r for r in labelled if claim_key(r["claim"]) not in seen]
        random.Random(seed).shuffle(claims)
        if n + calibration > len(claims):
            raise InputRejected(
                f"n={n} plus {calibration} calibration claims exceeds the {len(claims)} "
                "labelled claims the shipped verifier was not trained on"
            )
        self.test, self.calib = claims[:n], claims[n : n + calibration]
        self.models = ModelProvider({"large": large, "embeddings": "local:minilm"})
        self._small = Verdict(FactCheckExpert(), "fact_check")
        self._cross = Verdict(FactCheckExpert("cross"), "fact_check_cross")
        self.small_label = "fact-check expert, shipped verifier (MiniLM pair head)"
        self.large_label = f"{large} judging claim vs evidence (three labels)"
        self.notes = [
            f"{len(labelled)} labelled claims, {len(labelled) - len(claims)} of them in the "
            f"shipped verifier's training set and left out; {calibration} calibration, {n} "
            f"test of the other {len(claims)} (seed {seed}); DISPUTED claims left out",
        ]

    def calibration_examples(self) -> list[dict[str, Any]]:
        return self.calib

    def test_examples(self) -> list[dict[str, Any]]:
        return self.test

    def small(self) -> Expert:
        return self._small

    def extra_voters(self) -> list[Expert]:
        return [self._cross]

    def large(self) -> Expert:
        return ClaimJudge(choices=LABELS, system=SYSTEM, max_tokens=8, name="claim_judge")

    def request(self, example: dict[str, Any]) -> BaseModel:
        evidence = [e["evidence"] for e in example["evidences"]]
        return FactCheckRequest(text=example["claim"], evidence=evidence)

    def context(self, example: dict[str, Any]) -> ExpertContext:
        return ExpertContext(task="fact_check", models=self.models)

    def correct(self, result: ExpertResult, example: dict[str, Any]) -> bool:
        return result.output == example["claim_label"]
