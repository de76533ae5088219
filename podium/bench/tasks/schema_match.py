"""schema_match: map each column of a clinical study table to its GDC standard column.

Examples are the ground-truth pairs of the GDC benchmark (five studies, 736 target columns).
The small expert ranks every target column by the cosine of MiniLM embeddings of the column
names (underscores as spaces) and answers the top one; its raw confidence is the softmax
(temperature 0.05) of the top score over the top five. The large expert picks among the
small expert's top-``k`` candidates (the candidate list is retrieval, not the decision), so
neither can be right when the true column is outside that list; the bench reports how often
that happens (``candidate recall``).
"""

from __future__ import annotations

import csv
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

SYSTEM = (
    "You match database columns. Given a source column from a clinical study and candidate "
    "columns of the GDC standard, answer with the candidate that means the same thing."
)


class MatchRequest(BaseModel):
    text: str = Field(min_length=1, description="The matching question, as a prompt.")
    source: str = ""
    candidates: list[str] = Field(default_factory=list)


def _words(name: str) -> str:
    return name.replace("_", " ").strip().lower()


class NameMatcher(Expert):
    """Embedding similarity of column names, over the whole target schema."""

    name = "column_matcher"
    description = "Finds the target column that means the same as a source column."
    input_model = MatchRequest

    def __init__(self, targets: list[str], embedder: Any, temperature: float = 0.05) -> None:
        self.targets, self.embedder, self.temperature = targets, embedder, temperature
        self.vectors = embedder.encode([_words(t) for t in targets])

    def rank(self, source: str, k: int = 5) -> list[tuple[str, float]]:
        q = self.embedder.encode([_words(source)])[0]
        scores = self.vectors @ q
        top = np.argsort(-scores)[:k]
        return [(self.targets[i], float(scores[i])) for i in top]

    def run(self, request: BaseModel, ctx: ExpertContext) -> ExpertResult:
        assert isinstance(request, MatchRequest)
        ranked = self.rank(request.source)
        z = np.array([s for _, s in ranked]) / self.temperature
        p = np.exp(z - z.max())
        p /= p.sum()
        return ExpertResult(
            output=ranked[0][0],
            confidence=float(p[0]),
            details={"ranked": [(t, round(s, 4)) for t, s in ranked]},
        )


class SchemaMatchTask(BenchTask):
    name = "schema_match"

    def __init__(
        self,
        data: Path,
        *,
        n: int,
        small: str,
        large: str,
        calibration: int = 40,
        k: int = 5,
        seed: int = 0,
    ) -> None:
        studies = sorted(p for p in data.glob("*") if (p / "groundtruth.csv").is_file())
        if not studies:
            raise InputRejected(
                f"no <study>/groundtruth.csv under {data}",
                hint="point --data at the schema_match folder",
            )
        pairs: list[dict[str, str]] = []
        for study in studies:
            with (study / "groundtruth.csv").open(encoding="utf-8") as fh:
                for row in csv.DictReader(fh):
                    pairs.append({"study": study.name, **row})
        with (studies[0] / "target.csv").open(encoding="utf-8") as fh:
            targets = next(csv.reader(fh))
        random.Random(seed).shuffle(pairs)
        if n + calibration > len(pairs):
            raise InputRejected(
                f"n={n} plus {calibration} calibration pairs exceeds the {len(pairs)} pairs"
            )
        self.test, self.calib = pairs[:n], pairs[n : n + calibration]
        self.k = k
        self._small = NameMatcher(targets, load_embedder("local:minilm"))
        self.models = ModelProvider({"large": large, "embeddings": "local:minilm"})
        self.small_label = "MiniLM column-name similarity"
        self.large_label = large
        recall = np.mean([p["target"] in self._candidates(p) for p in self.test])
        self.notes = [
            f"{len(pairs)} ground-truth pairs from {len(studies)} studies; {calibration} "
            f"calibration, {n} test (seed {seed}); {len(targets)} target columns",
            f"the large model chooses among the small expert's top {k} candidates; "
            f"candidate recall on the test pairs: {recall:.2f}",
        ]

    def _candidates(self, example: dict[str, str]) -> list[str]:
        key = example["source"]
        cache = self.__dict__.setdefault("_cands", {})
        if key not in cache:
            cache[key] = [t for t, _ in self._small.rank(key, self.k)]
        return cache[key]

    def calibration_examples(self) -> list[dict[str, str]]:
        return self.calib

    def test_examples(self) -> list[dict[str, str]]:
        return self.test

    def small(self) -> Expert:
        return self._small

    def large(self) -> Expert:
        return LargeModelExpert(system=SYSTEM, max_tokens=24)

    def request(self, example: dict[str, str]) -> BaseModel:
        cands = self._candidates(example)
        text = f"Source column: {example['source']}\nCandidate GDC columns: {', '.join(cands)}"
        return MatchRequest(text=text, source=example["source"], candidates=cands)

    def context(self, example: dict[str, str]) -> ExpertContext:
        return ExpertContext(
            task="schema_match",
            models=self.models,
            options={"choices": self._candidates(example)},
        )

    def correct(self, result: ExpertResult, example: dict[str, str]) -> bool:
        return result.output == example["target"]
