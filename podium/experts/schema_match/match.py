"""Match the columns of two tables: signals -> combined score -> candidates -> matches."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

import numpy as np
from scipy.optimize import linear_sum_assignment

from .combine import Combiner
from .signals import compute_signals
from .tables import TableLike, TableProfile, load_table


@dataclass
class Candidate:
    """One target column proposed for a source column, with the evidence for it."""

    target: str
    score: float
    signals: dict[str, float]
    agreed: list[str]  # signals whose own best target for this source column is this one

    def to_dict(self) -> dict[str, Any]:
        return {
            "target": self.target,
            "score": round(self.score, 4),
            "signals": {k: round(v, 4) for k, v in self.signals.items()},
            "agreed": self.agreed,
        }


@dataclass
class ColumnMatch:
    source: str
    candidates: list[Candidate]
    match: str | None = None  # the accepted target, if any
    confidence: float = 0.0

    def to_dict(self) -> dict[str, Any]:
        return {
            "source": self.source,
            "match": self.match,
            "confidence": round(self.confidence, 4),
            "candidates": [c.to_dict() for c in self.candidates],
        }


@dataclass
class MatchResult:
    """Per source column: top-k candidates and the accepted match (or none)."""

    source: TableProfile
    target: TableProfile
    columns: list[ColumnMatch]
    scores: np.ndarray  # |source| x |target| combined score (after any rerank)
    signals: dict[str, np.ndarray]
    threshold: float
    one_to_one: bool
    rerank: list[dict[str, Any]] = field(default_factory=list)

    @property
    def matches(self) -> list[tuple[str, str, float]]:
        return [(c.source, c.match, c.confidence) for c in self.columns if c.match is not None]

    def to_dict(self) -> dict[str, Any]:
        return {
            "source_table": self.source.name,
            "target_table": self.target.name,
            "threshold": round(self.threshold, 4),
            "one_to_one": self.one_to_one,
            "matches": [
                {"source": s, "target": t, "confidence": round(c, 4)} for s, t, c in self.matches
            ],
            "columns": [c.to_dict() for c in self.columns],
            "rerank": self.rerank,
        }


def match_tables(
    source: TableLike,
    target: TableLike,
    *,
    embeddings: str | None = "local:minilm",
    top_k: int = 5,
    one_to_one: bool = False,
    threshold: float | None = None,
    combiner: Combiner | None = None,
    descriptions: Mapping[str, Mapping[str, str]] | None = None,
) -> MatchResult:
    """Match SOURCE's columns to TARGET's (CSV paths, DataFrames or '<url>#<table>').

    ``embeddings=None`` leaves the MiniLM signals out (faster, less accurate).
    ``one_to_one`` assigns each target column to at most one source column (Hungarian).
    """
    from podium.models.embeddings import load_embedder

    descriptions = descriptions or {}
    src = load_table(source, descriptions=descriptions.get("source"))
    tgt = load_table(target, descriptions=descriptions.get("target"))
    embedder = load_embedder(embeddings) if embeddings else None
    sig = compute_signals(src, tgt, embedder) if len(src) and len(tgt) else {}
    combiner = combiner or Combiner.load()
    scores = combiner.score(sig) if sig else np.zeros((len(src), len(tgt)), np.float32)
    cut = combiner.threshold if threshold is None else threshold
    return assemble(src, tgt, scores, sig, threshold=cut, top_k=top_k, one_to_one=one_to_one)


def assemble(
    src: TableProfile,
    tgt: TableProfile,
    scores: np.ndarray,
    sig: dict[str, np.ndarray],
    *,
    threshold: float,
    top_k: int = 5,
    one_to_one: bool = False,
    order: np.ndarray | None = None,
) -> MatchResult:
    """Turn a score matrix into candidates and accepted matches."""
    best_by_signal = {name: m.argmax(axis=1) for name, m in sig.items() if m.size}
    if order is None:
        order = np.argsort(-scores, axis=1, kind="stable")
    columns = []
    for i, col in enumerate(src.columns):
        cands = []
        for j in order[i, :top_k] if scores.size else []:
            cands.append(
                Candidate(
                    target=tgt.names[j],
                    score=float(scores[i, j]),
                    signals={name: float(m[i, j]) for name, m in sig.items()},
                    agreed=[name for name, best in best_by_signal.items() if best[i] == j],
                )
            )
        columns.append(ColumnMatch(source=col.name, candidates=cands))
    if scores.size:
        if one_to_one:
            rows, cols = linear_sum_assignment(-scores)
            chosen = dict(zip(rows.tolist(), cols.tolist(), strict=True))
        else:
            chosen = {i: int(order[i, 0]) for i in range(len(src))}
        for i, j in chosen.items():
            if scores[i, j] >= threshold:
                columns[i].match = tgt.names[j]
                columns[i].confidence = float(scores[i, j])
    return MatchResult(
        source=src,
        target=tgt,
        columns=columns,
        scores=scores,
        signals=sig,
        threshold=threshold,
        one_to_one=one_to_one,
    )
