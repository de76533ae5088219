"""fact_check: label a Climate-FEVER claim from its five evidence sentences.

Labels SUPPORTS / REFUTES / NOT_ENOUGH_INFO (DISPUTED claims are left out: no single right
answer). The small expert is a logistic regression on MiniLM features of the claim and its
evidence (claim, mean evidence, their product and difference, best cosine), trained in the
bench on the claims outside the test and calibration splits; its confidence is its top class
probability. A second small voter is a k-nearest-neighbour classifier on the same features.
The large expert is the ``large`` chat model constrained to the three labels.
"""

from __future__ import annotations

import json
import random
from pathlib import Path
from typing import Any

import numpy as np
from pydantic import BaseModel, Field

from podium.errors import InputRejected
from podium.experts.base import Expert, ExpertContext, ExpertResult
from podium.models.embeddings import load_embedder
from podium.models.provider import ModelProvider
from podium.orchestrator.collaboration import LargeModelExpert

from .base import BenchTask

LABELS = ("SUPPORTS", "REFUTES", "NOT_ENOUGH_INFO")
SYSTEM = (
    "You check climate claims against evidence. Say SUPPORTS if the evidence supports the "
    "claim, REFUTES if it contradicts it, NOT_ENOUGH_INFO if it does neither."
)


class ClaimRequest(BaseModel):
    text: str = Field(min_length=1, description="The claim and its evidence, as a prompt.")
    claim: str = ""
    evidence: list[str] = Field(default_factory=list)


def prompt(claim: str, evidence: list[str]) -> str:
    lines = "\n".join(f"- {e}" for e in evidence)
    return f"Claim: {claim}\nEvidence:\n{lines}\nLabel the claim."


class ClaimClassifier(Expert):
    """A small supervised classifier over embedding features (scikit-learn)."""

    description = "Labels a claim SUPPORTS, REFUTES or NOT_ENOUGH_INFO given evidence."
    input_model = ClaimRequest

    def __init__(self, name: str, model: Any, embed: Any) -> None:
        self.name = name  # type: ignore[misc]
        self.clf, self.embed = model, embed

    def run(self, request: BaseModel, ctx: ExpertContext) -> ExpertResult:
        assert isinstance(request, ClaimRequest)
        x = features(self.embed, [(request.claim, request.evidence)])
        proba = self.clf.predict_proba(x)[0]
        best = int(np.argmax(proba))
        return ExpertResult(
            output=str(self.clf.classes_[best]),
            confidence=float(proba[best]),
            details={
                "proba": {
                    str(c): round(float(p), 4)
                    for c, p in zip(self.clf.classes_, proba, strict=True)
                }
            },
        )


def features(embed: Any, items: list[tuple[str, list[str]]]) -> np.ndarray:
    rows = []
    for claim, evidence in items:
        c = embed(claim)
        e = np.stack([embed(t) for t in evidence]) if evidence else np.zeros((1, c.size))
        sims = e @ c
        m = e.mean(axis=0)
        rows.append(np.concatenate([c, m, c * m, np.abs(c - m), [sims.max(), sims.mean()]]))
    return np.asarray(rows, dtype=np.float32)


class CachedEmbed:
    def __init__(self, embedder: Any) -> None:
        self.embedder, self.cache = embedder, {}

    def warm(self, texts: list[str]) -> None:
        todo = [t for t in dict.fromkeys(texts) if t not in self.cache]
        if todo:
            for t, v in zip(todo, self.embedder.encode(todo), strict=True):
                self.cache[t] = np.asarray(v, dtype=np.float32)

    def __call__(self, text: str) -> np.ndarray:
        if text not in self.cache:
            self.warm([text])
        return self.cache[text]


class FactCheckTask(BenchTask):
    name = "fact_check"

    def __init__(
        self, data: Path, *, n: int, small: str, large: str, calibration: int = 150, seed: int = 0
    ) -> None:
        path = data / "claims.jsonl"
        if not path.is_file():
            raise InputRejected(
                f"{path} not found", hint="point --data at the fact_check folder (claims.jsonl)"
            )
        records = [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines()]
        claims = [r for r in records if r["claim_label"] in LABELS]
        random.Random(seed).shuffle(claims)
        if n + calibration + 100 > len(claims):
            raise InputRejected(
                f"n={n} leaves too few of the {len(claims)} claims for calibration and training"
            )
        self.test = claims[:n]
        self.calib = claims[n : n + calibration]
        self.train = claims[n + calibration :]
        self.models = ModelProvider({"large": large, "embeddings": "local:minilm"})
        self.small_label = "MiniLM features + logistic regression (trained here)"
        self.large_label = large
        self.notes = [
            f"{len(self.train)} training, {len(self.calib)} calibration, {n} test claims "
            f"(seed {seed}); DISPUTED claims left out",
        ]
        self._build()

    def _pairs(self, rows: list[dict[str, Any]]) -> list[tuple[str, list[str]]]:
        return [(r["claim"], [e["evidence"] for e in r["evidences"]]) for r in rows]

    def _build(self) -> None:
        from sklearn.linear_model import LogisticRegression
        from sklearn.neighbors import KNeighborsClassifier

        self.embed = CachedEmbed(load_embedder("local:minilm"))
        every = self.train + self.calib + self.test
        self.embed.warm([t for c, ev in self._pairs(every) for t in (c, *ev)])
        x = features(self.embed, self._pairs(self.train))
        y = [r["claim_label"] for r in self.train]
        lr = LogisticRegression(max_iter=2000, C=0.5, class_weight="balanced").fit(x, y)
        knn = KNeighborsClassifier(n_neighbors=15, metric="cosine").fit(x, y)
        self._small = ClaimClassifier("claim_classifier", lr, self.embed)
        self._knn = ClaimClassifier("claim_knn", knn, self.embed)

    def calibration_examples(self) -> list[dict[str, Any]]:
        return self.calib

    def test_examples(self) -> list[dict[str, Any]]:
        return self.test

    def small(self) -> Expert:
        return self._small

    def extra_voters(self) -> list[Expert]:
        return [self._knn]

    def large(self) -> Expert:
        return LargeModelExpert(choices=LABELS, system=SYSTEM, max_tokens=8)

    def request(self, example: dict[str, Any]) -> BaseModel:
        claim, evidence = self._pairs([example])[0]
        return ClaimRequest(text=prompt(claim, evidence), claim=claim, evidence=evidence)

    def context(self, example: dict[str, Any]) -> ExpertContext:
        return ExpertContext(task="fact_check", models=self.models)

    def correct(self, result: ExpertResult, example: dict[str, Any]) -> bool:
        return result.output == example["claim_label"]
