"""schema_match: map each labelled column of a clinical study table to its GDC column.

Examples are the labelled source columns of the five GDC pairs (the ground truth of the
Magneto paper's GDC benchmark) against the 736-column GDC standard. The small expert is the
schema-match expert's combined matcher (every signal, the logistic combination, its top-``k``
candidates: :func:`~podium.experts.schema_match.match.assemble`), fit leave-one-pair-out so a
study is never matched with weights fit on it; its answer is the top candidate and its
confidence the combined score (a probability estimate). A second small voter is the MiniLM
name-and-values signal alone. The large expert reads the source column and the top ``k``
candidates, each with its type and sample values, and names one (constrained to the
candidates' names; the 1.5B model orders lists badly, DESIGN.md). Neither can be right when
the true column is outside the top ``k``; the notes say how often that happens.
"""

from __future__ import annotations

import dataclasses
import random
from pathlib import Path
from typing import Any

import numpy as np
from langchain_core.messages import BaseMessage, HumanMessage, SystemMessage
from pydantic import BaseModel, Field

from podium.experts.base import Expert, ExpertContext, ExpertResult
from podium.experts.schema_match.combine import fit
from podium.experts.schema_match.evaluate import find_pairs, load_pair
from podium.experts.schema_match.match import MatchResult, assemble
from podium.experts.schema_match.rerank import SYSTEM as RERANK_SYSTEM
from podium.experts.schema_match.rerank import _describe
from podium.models.provider import ModelProvider
from podium.orchestrator.collaboration import LargeModelExpert
from podium.orchestrator.collaboration.hints import SLMHint, with_hints

from .base import BenchTask


class MatchRequest(BaseModel):
    text: str = Field(min_length=1, description="The source column, as words.")
    pair: str = ""
    column: int = 0


class ColumnMatcher(Expert):
    """One signal or the combined matcher, answering one source column at a time."""

    description = "Finds the target column that means the same as a source column."
    input_model = MatchRequest

    def __init__(self, name: str, results: dict[str, MatchResult], signal: str = "") -> None:
        self.name = name  # type: ignore[misc]
        self.results, self.signal = results, signal

    def run(self, request: BaseModel, ctx: ExpertContext) -> ExpertResult:
        assert isinstance(request, MatchRequest)
        result = self.results[request.pair]
        scores = result.signals[self.signal] if self.signal else result.scores
        row = scores[request.column]
        order = np.argsort(-row, kind="stable")[:5]
        ranked = [(result.target.names[j], round(float(row[j]), 4)) for j in order]
        return ExpertResult(
            output=ranked[0][0],
            confidence=float(np.clip(ranked[0][1], 0.0, 1.0)),
            details={"ranked": ranked},
        )


class CandidatePicker(LargeModelExpert):
    """The large model names one of the top-``k`` candidates (with types and sample values).

    The candidates are listed by name and the reply is constrained to one of those names. An
    earlier version numbered them and constrained the reply to a number: the 1.5B model then
    answered "2" for nearly every column (top-1 0.13, below a random pick among the five), a
    position habit, not a judgement; naming the column it means removes it."""

    def __init__(self, results: dict[str, MatchResult], k: int) -> None:
        super().__init__(system=RERANK_SYSTEM, max_tokens=24)
        self.name = "candidate_picker"  # type: ignore[misc]
        self.results, self.k = results, k

    def _candidates(self, request: MatchRequest) -> list[Any]:
        result = self.results[request.pair]
        names = [c.target for c in result.columns[request.column].candidates[: self.k]]
        by_name = {c.name: c for c in result.target.columns}
        return [by_name[n] for n in names]

    def prompt(self, request: BaseModel, ctx: ExpertContext) -> list[BaseMessage]:
        assert isinstance(request, MatchRequest)
        source = self.results[request.pair].source.columns[request.column]
        lines = "\n".join(f"- {_describe(c)}" for c in self._candidates(request))
        task = f"Source column: {_describe(source)}\n\nCandidate target columns:\n{lines}"
        options = ctx.options
        if options.get("draft") is not None:
            task += f"\n\nA first answer: {options['draft']}"
        if options.get("feedback"):
            task += f"\nAnother reviewer answered: {options['feedback']}"
        hints = [SLMHint.model_validate(h) for h in options.get("hints", [])]
        task = with_hints(task, hints, enabled=bool(options.get("use_hints", True)))
        task += (
            "\n\nWhich candidate holds the same information as the source column? "
            "Answer with its name."
        )
        return [SystemMessage(self.system), HumanMessage(task)]

    async def arun(self, request: BaseModel, ctx: ExpertContext) -> ExpertResult:
        assert isinstance(request, MatchRequest)
        names = [c.name for c in self._candidates(request)]
        options = {**ctx.options, "choices": names}
        pick = await super().arun(request, dataclasses.replace(ctx, options=options))
        return pick.model_copy(update={"details": {"picked": names.index(pick.output) + 1}})


class SchemaMatchTask(BenchTask):
    name = "schema_match"
    expert = "schema_match"

    def __init__(
        self,
        data: Path,
        *,
        n: int,
        small: str,
        large: str,
        calibration: int = 30,
        k: int = 5,
        seed: int = 0,
    ) -> None:
        pairs = [load_pair(folder) for folder in find_pairs(data)]
        self.results: dict[str, MatchResult] = {}
        examples: list[dict[str, Any]] = []
        for i, pair in enumerate(pairs):
            rest = [p for j, p in enumerate(pairs) if j != i]
            combiner = fit([(p.signals, p.labels) for p in rest], names=[p.name for p in rest])
            scores = combiner.score(pair.signals)
            self.results[pair.name] = assemble(
                pair.source,
                pair.target,
                scores,
                pair.signals,
                threshold=combiner.threshold,
                top_k=k,
            )
            for row in np.flatnonzero(pair.labels.any(axis=1)):
                targets = [pair.target.names[j] for j in np.flatnonzero(pair.labels[row])]
                examples.append(
                    {
                        "pair": pair.name,
                        "column": int(row),
                        "source": pair.source.names[row],
                        "targets": targets,
                    }
                )
        random.Random(seed).shuffle(examples)
        self.calib = examples[:calibration]
        self.test = examples[calibration : calibration + n]
        self.k = k
        self.models = ModelProvider({"large": large, "embeddings": "local:minilm"})
        self._small = ColumnMatcher("schema_match", self.results)
        self._embedding = ColumnMatcher("embedding_signal", self.results, signal="embedding")
        self.small_label = "schema-match expert's combined matcher (leave-one-pair-out)"
        self.large_label = f"{large} picks one of the top {k}"
        recall = np.mean([self._in_top(e) for e in self.test]) if self.test else 0.0
        self.notes = [
            f"{len(examples)} labelled source columns in {len(pairs)} GDC pairs; "
            f"{len(self.calib)} calibration, {len(self.test)} test (seed {seed}); "
            f"{len(pairs[0].target)} target columns",
            f"the large model picks among the combined matcher's top {k}; the right column is "
            f"among them for {recall:.2f} of the test columns (the ceiling of every strategy)",
            "quality is top-1 accuracy per labelled source column, not Magneto's recall@GT",
        ]

    def _in_top(self, example: dict[str, Any]) -> bool:
        cands = self.results[example["pair"]].columns[example["column"]].candidates[: self.k]
        return any(c.target in example["targets"] for c in cands)

    def calibration_examples(self) -> list[dict[str, Any]]:
        return self.calib

    def test_examples(self) -> list[dict[str, Any]]:
        return self.test

    def small(self) -> Expert:
        return self._small

    def extra_voters(self) -> list[Expert]:
        return [self._embedding]

    def large(self) -> Expert:
        return CandidatePicker(self.results, self.k)

    def request(self, example: dict[str, Any]) -> BaseModel:
        return MatchRequest(
            text=example["source"].replace("_", " "),
            pair=example["pair"],
            column=example["column"],
        )

    def context(self, example: dict[str, Any]) -> ExpertContext:
        return ExpertContext(task="schema_match", models=self.models)

    def correct(self, result: ExpertResult, example: dict[str, Any]) -> bool:
        return result.output in example["targets"]
