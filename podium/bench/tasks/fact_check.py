"""fact_check: label a Climate-FEVER claim from its five evidence sentences.

Labels SUPPORTS / REFUTES / NOT_ENOUGH_INFO (DISPUTED claims are left out: no single right
answer). The small expert is the built-in fact-check expert with its shipped verifier (a
calibrated head on MiniLM pair features), given the claim and its evidence; its answer is the
claim's verdict and its confidence the expert's. A second small voter is the same expert with
the fine-tuned MiniLM cross-encoder verifier (``"cross"``). The large expert is the ``large``
chat model judging the claim against the evidence, constrained to the three labels.

Only claims the shipped verifier never saw in training are used (its weights list the claims
they were fit on), so the small expert is not scored on its own training data. That leaves
about 140 labelled claims; ``cross_fit=k`` uses every labelled claim instead: the claims are
split into ``k`` folds and each fold is answered by heads trained, with the shipped recipe
(:func:`~podium.experts.fact_check.train.train`), on the other folds only — the small expert's
figures are then those of the shipped head on claims it never saw, at the same training size.
The second voter is then a cross-fitted head without contrast pairs (the cross-encoder was
trained on most claims, so it cannot vote on them honestly).
"""

from __future__ import annotations

import json
import random
from pathlib import Path
from typing import Any

import numpy as np
from langchain_core.messages import BaseMessage, HumanMessage, SystemMessage
from pydantic import BaseModel

from podium.errors import InputRejected
from podium.experts.base import Expert, ExpertContext, ExpertResult
from podium.experts.fact_check import FactCheckExpert, FactCheckRequest, load_verifier
from podium.experts.fact_check.augment import contrast_pairs
from podium.experts.fact_check.train import ENCODER, load_pairs, train
from podium.experts.fact_check.verifier import HeadWeights, TrainedVerifier, claim_key
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


class CrossFitted(Expert):
    """Answers each claim with the expert whose head was trained without that claim's fold."""

    input_model = FactCheckRequest

    def __init__(self, name: str, experts: list[Expert], fold: dict[str, int]) -> None:
        self.name = name  # type: ignore[misc]
        self.experts, self.fold = experts, fold
        self.description = experts[0].description  # type: ignore[misc]

    async def arun(self, request: BaseModel, ctx: ExpertContext) -> ExpertResult:
        assert isinstance(request, FactCheckRequest)
        return await self.experts[self.fold[claim_key(request.text)]].arun(request, ctx)


def cross_fitted_heads(
    data: Path, folds: list[list[str]], *, augment: bool, known: dict[str, np.ndarray]
) -> list[HeadWeights]:
    """One head per fold, each trained with the shipped recipe on the other folds' claims."""
    return [
        train(data, augment=augment, holdout=fold, known=known, log=lambda *_a: None)[0]
        for fold in folds
    ]


def all_texts(data: Path) -> list[str]:
    """Every text a head on ``data`` encodes: claims, evidence and their contrast pairs."""
    pairs = load_pairs(data)
    contrast = contrast_pairs(
        pairs.claims,
        pairs.evidences,
        list(pairs.labels),
        LABELS.index("SUPPORTS"),
        LABELS.index("REFUTES"),
    )
    return list(dict.fromkeys([*pairs.claims, *pairs.evidences, *(c for _, c, _, _ in contrast)]))


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
        self,
        data: Path,
        *,
        n: int,
        small: str,
        large: str,
        calibration: int = 40,
        seed: int = 0,
        cross_fit: int = 0,
    ) -> None:
        path = data / "claims.jsonl"
        if not path.is_file():
            raise InputRejected(
                f"{path} not found", hint="point --data at the fact_check folder (claims.jsonl)"
            )
        records = [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines()]
        labelled = [r for r in records if r["claim_label"] in LABELS]
        if cross_fit:
            claims = list(labelled)
        else:
            seen = load_verifier().trained_claims or frozenset()  # type: ignore[attr-defined]
            claims = [r for r in labelled if claim_key(r["claim"]) not in seen]
        random.Random(seed).shuffle(claims)
        if n + calibration > len(claims):
            raise InputRejected(
                f"n={n} plus {calibration} calibration claims exceeds the {len(claims)} "
                + (
                    "labelled claims"
                    if cross_fit
                    else "labelled claims the shipped verifier was not trained on"
                ),
                hint="" if cross_fit else "pass --cross-fit 5 to use every labelled claim",
            )
        self.test, self.calib = claims[:n], claims[n : n + calibration]
        self.models = ModelProvider({"large": large, "embeddings": "local:minilm"})
        self.large_label = f"{large} judging claim vs evidence (three labels)"
        if cross_fit:
            self._cross_fit(data, records, cross_fit, seed)
            self.notes = [
                f"{len(labelled)} labelled claims (DISPUTED left out), every one usable: "
                f"{cross_fit}-fold cross-fitting by claim, each fold answered by heads trained "
                f"with the shipped recipe on the other folds; {calibration} calibration, {n} "
                f"test (seed {seed})",
            ]
            return
        self._small: Expert = Verdict(FactCheckExpert(), "fact_check")
        self._cross: Expert = Verdict(FactCheckExpert("cross"), "fact_check_cross")
        self.small_label = "fact-check expert, shipped verifier (MiniLM pair head)"
        self.notes = [
            f"{len(labelled)} labelled claims, {len(labelled) - len(claims)} of them in the "
            f"shipped verifier's training set and left out; {calibration} calibration, {n} "
            f"test of the other {len(claims)} (seed {seed}); DISPUTED claims left out",
        ]

    def _cross_fit(self, data: Path, records: list[dict[str, Any]], k: int, seed: int) -> None:
        from podium.models.embeddings import load_embedder

        keys = list(dict.fromkeys(claim_key(r["claim"]) for r in records))
        random.Random(seed + 1).shuffle(keys)
        folds = [keys[i::k] for i in range(k)]
        fold_of = {key: i for i, fold in enumerate(folds) for key in fold}
        texts = all_texts(data)
        known = dict(zip(texts, load_embedder(ENCODER).encode(texts), strict=True))
        heads = cross_fitted_heads(data, folds, augment=True, known=known)
        plain = cross_fitted_heads(data, folds, augment=False, known=known)

        def expert(head: HeadWeights) -> Expert:
            return Verdict(FactCheckExpert(TrainedVerifier(head)), "fact_check")

        self._small = CrossFitted("fact_check", [expert(h) for h in heads], fold_of)
        self._cross = CrossFitted("fact_check_plain_head", [expert(h) for h in plain], fold_of)
        self.small_label = (
            f"fact-check expert, shipped head recipe cross-fitted ({k} folds by claim)"
        )

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
