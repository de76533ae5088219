"""Evaluation on folders of labelled pairs (the GDC benchmark layout of the Magneto paper).

Each pair folder holds ``source.csv``, ``target.csv`` and ``groundtruth.csv`` (columns
``source``, ``target``; a source column may have several correct targets).

Metrics, per pair and averaged over pairs:
- ``recall_at_gt``: rank every (source, target) pair by score, take the top n = |ground truth|
  and count the fraction of the ground truth found there (Valentine's RecallAtSizeofGroundTruth,
  the figure the Magneto paper reports).
- ``top1``: fraction of labelled source columns whose best candidate is a correct target.
- ``precision`` / ``recall`` / ``f1`` of the accepted matches (a column's best candidate when
  its score clears the threshold), counted over labelled source columns.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from podium.errors import InputRejected

from .combine import Combiner, fit
from .signals import SIGNALS, compute_signals
from .tables import TableProfile, load_table


@dataclass
class Pair:
    name: str
    source: TableProfile
    target: TableProfile
    labels: np.ndarray  # |source| x |target| bool
    missing: list[str]  # ground-truth names not found among the columns
    signals: dict[str, np.ndarray]

    @property
    def n_gt(self) -> int:
        return int(self.labels.sum())


def find_pairs(data: Path) -> list[Path]:
    if not data.is_dir():
        raise InputRejected(f"{data} is not a folder", hint="point --data at a folder of pairs")
    dirs = sorted(
        p.parent for p in data.rglob("groundtruth.csv") if (p.parent / "source.csv").is_file()
    )
    if not dirs:
        raise InputRejected(
            f"no pairs under {data}",
            hint="each pair is a folder with source.csv, target.csv and groundtruth.csv",
        )
    return dirs


_TARGETS: dict[Path, TableProfile] = {}


def load_pair(folder: Path, embeddings: str | None = "local:minilm") -> Pair:
    from podium.models.embeddings import load_embedder

    source = load_table(folder / "source.csv")
    target_path = (folder / "target.csv").resolve()
    if target_path not in _TARGETS:  # the GDC target is the same file in every pair
        _TARGETS[target_path] = load_table(target_path)
    target = _TARGETS[target_path]
    gt = pd.read_csv(folder / "groundtruth.csv", dtype=str).dropna()
    s_index = {n: i for i, n in enumerate(source.names)}
    t_index = {n: j for j, n in enumerate(target.names)}
    labels = np.zeros((len(source), len(target)), dtype=bool)
    missing = []
    for s, t in zip(gt["source"].str.strip(), gt["target"].str.strip(), strict=True):
        if s in s_index and t in t_index:
            labels[s_index[s], t_index[t]] = True
        else:
            missing.append(f"{s} -> {t}")
    embedder = load_embedder(embeddings) if embeddings else None
    sig = compute_signals(source, target, embedder)
    return Pair(folder.name, source, target, labels, missing, sig)


def metrics(scores: np.ndarray, labels: np.ndarray, threshold: float) -> dict[str, float]:
    n_gt = int(labels.sum())
    flat = scores.ravel()
    top = np.argsort(-flat, kind="stable")[:n_gt]
    recall_at_gt = float(labels.ravel()[top].sum() / n_gt) if n_gt else 0.0
    rows = np.flatnonzero(labels.any(axis=1))
    best = scores[rows].argmax(axis=1)
    hit = labels[rows, best]
    accepted = scores[rows, best] >= threshold
    tp = int((hit & accepted).sum())
    precision = tp / int(accepted.sum()) if accepted.any() else 0.0
    recall = tp / len(rows) if len(rows) else 0.0
    f1 = 2 * precision * recall / (precision + recall) if precision + recall else 0.0
    return {
        "recall_at_gt": round(recall_at_gt, 4),
        "top1": round(float(hit.mean()) if len(rows) else 0.0, 4),
        "precision": round(precision, 4),
        "recall": round(recall, 4),
        "f1": round(f1, 4),
    }


def evaluate(
    data: Path,
    *,
    matcher: str = "combined",
    lopo: bool = False,
    combiner: Combiner | None = None,
    embeddings: str | None = "local:minilm",
) -> dict[str, Any]:
    """Score each pair with one matcher (a signal name) or the combined model.

    ``lopo``: the combined model is refit for each pair on the other pairs only
    (leave-one-pair-out), so no pair is scored by a model that saw its labels.
    """
    if matcher not in ("combined", *SIGNALS):
        raise InputRejected(
            f"unknown matcher {matcher!r}", hint=f"use combined or one of {', '.join(SIGNALS)}"
        )
    pairs = [load_pair(p, embeddings) for p in find_pairs(data)]
    return evaluate_pairs(pairs, matcher=matcher, lopo=lopo, combiner=combiner)


def evaluate_pairs(
    pairs: list[Pair],
    *,
    matcher: str = "combined",
    lopo: bool = False,
    combiner: Combiner | None = None,
    scores_by_pair: dict[str, np.ndarray] | None = None,
    thresholds: dict[str, float] | None = None,
) -> dict[str, Any]:
    results = []
    for k, pair in enumerate(pairs):
        if scores_by_pair is not None:
            scores, threshold = scores_by_pair[pair.name], (thresholds or {})[pair.name]
        elif matcher != "combined":
            signal = pair.signals.get(matcher)
            if signal is None:
                raise InputRejected(f"matcher {matcher!r} needs the embedding model")
            scores, threshold = signal, 0.5
        else:
            if lopo:
                rest = [p for i, p in enumerate(pairs) if i != k]
                model = fit([(p.signals, p.labels) for p in rest], names=[p.name for p in rest])
            else:
                model = combiner or Combiner.load()
            scores, threshold = model.score(pair.signals), model.threshold
        results.append(
            {
                "pair": pair.name,
                "source_columns": len(pair.source),
                "target_columns": len(pair.target),
                "ground_truth": pair.n_gt,
                "unmatched_ground_truth": pair.missing,
                **metrics(scores, pair.labels, threshold),
            }
        )
    keys = ("recall_at_gt", "top1", "precision", "recall", "f1")
    mean = {k: round(float(np.mean([r[k] for r in results])), 4) for k in keys}
    return {"matcher": matcher, "lopo": lopo, **mean, "pairs": results}


def evaluate_reranked(
    data: Path,
    model: str,
    *,
    lopo: bool = False,
    top_k: int = 5,
    embeddings: str | None = "local:minilm",
) -> dict[str, Any]:
    """The combined matcher, then the LLM rerank; reports what the rerank changed."""
    import asyncio

    from podium.models.provider import ModelProvider

    from .match import assemble
    from .rerank import LLMRerank, llm_rerank, summarize_rerank

    pairs = [load_pair(p, embeddings) for p in find_pairs(data)]
    provider = ModelProvider({"large": model})
    policy = LLMRerank(model=model, top_k=top_k)
    reranked: dict[str, np.ndarray] = {}
    thresholds: dict[str, float] = {}
    records: list[dict[str, Any]] = []
    for k, pair in enumerate(pairs):
        if lopo:
            rest = [p for i, p in enumerate(pairs) if i != k]
            combiner = fit([(p.signals, p.labels) for p in rest], names=[p.name for p in rest])
        else:
            combiner = Combiner.load()
        base = assemble(
            pair.source,
            pair.target,
            combiner.score(pair.signals),
            pair.signals,
            threshold=combiner.threshold,
            top_k=top_k,
        )
        # Only the labelled source columns are scored, so only they are sent to the model.
        labelled = pair.labels.any(axis=1)
        out = asyncio.run(llm_rerank(base, provider, policy, rows=np.flatnonzero(labelled)))
        reranked[pair.name], thresholds[pair.name] = out.scores, combiner.threshold
        for r in out.rerank:
            if "after" in r:
                i = pair.source.names.index(r["source"])
                t = pair.target.names
                r["top1_was_right"] = bool(pair.labels[i, t.index(r["before"][0])])
                r["top1_is_right"] = bool(pair.labels[i, t.index(r["after"][0])])
            records.append({"pair": pair.name, **r})
    report = evaluate_pairs(
        pairs, scores_by_pair=reranked, thresholds=thresholds, matcher=f"combined+rerank:{model}"
    )
    report["lopo"] = lopo
    report["rerank"] = {
        **summarize_rerank(records),
        "fixed": sum(1 for r in records if r.get("top1_is_right") and not r["top1_was_right"]),
        "broke": sum(1 for r in records if r.get("top1_was_right") and not r["top1_is_right"]),
        "changes": records,
    }
    return report
