"""Calibrated confidence for retrieval: P(the top passage is relevant | the search's scores).

A logistic regression (Platt scaling over several scores instead of one) on features of a
hybrid search's hits: the top dense cosine, its margin over the second, the top BM25 score
(log), whether the top hit is in both methods' top 10, and the top fused score. It is fitted on
the ``dev`` half of a BEIR folder (``podium train retrieval --data DIR``) and stored as JSON in
the package, so the shipped expert needs no training at run time. ``assess`` reports expected
calibration error, Brier score and AUROC on the ``test`` half, beside the uncalibrated
heuristic (top cosine) the expert used before.
"""

from __future__ import annotations

import json
import math
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from podium.memory.documents import Hit
from podium.metrics import ece

from .splits import split_of

CALIBRATOR_PATH = Path(__file__).resolve().with_name("calibration.json")
FEATURES = ("dense_top", "dense_margin", "bm25_top_log", "agree_top10", "fused_top_x100")


def features(hits: list[Hit]) -> list[float]:
    if not hits:
        return [0.0] * len(FEATURES)
    top = hits[0]
    dense = sorted((h.scores.get("dense", 0.0) for h in hits[:10]), reverse=True)
    dense_top = top.scores.get("dense", dense[0] if dense else 0.0)
    second = dense[1] if len(dense) > 1 else 0.0
    both = ("dense" in top.ranks and top.ranks["dense"] <= 10) and (
        "bm25" in top.ranks and top.ranks["bm25"] <= 10
    )
    return [
        float(dense_top),
        float(dense_top - second),
        math.log1p(max(0.0, top.scores.get("bm25", 0.0))),
        1.0 if both else 0.0,
        float(top.score * 100),
    ]


@dataclass
class RetrievalCalibrator:
    coef: list[float] = field(default_factory=lambda: [0.0] * len(FEATURES))
    intercept: float = 0.0
    fitted_on: dict[str, Any] = field(default_factory=dict)

    def predict(self, hits: list[Hit]) -> float:
        if not hits:
            return 0.0
        z = float(np.dot(self.coef, features(hits)) + self.intercept)
        return 1.0 / (1.0 + math.exp(-z))

    @classmethod
    def fit(
        cls, runs: dict[str, list[Hit]], qrels: dict[str, dict[str, int]], split: str = "dev"
    ) -> RetrievalCalibrator:
        from sklearn.linear_model import LogisticRegression

        x, y = _xy(runs, qrels, lambda q: split_of(q) == split)
        model = LogisticRegression(C=1.0, max_iter=1000).fit(x, y)
        return cls(
            coef=[round(float(c), 6) for c in model.coef_[0]],
            intercept=round(float(model.intercept_[0]), 6),
            fitted_on={
                "split": split,
                "queries": len(y),
                "positive_rate": round(float(y.mean()), 4),
            },
        )

    def assess(
        self, runs: dict[str, list[Hit]], qrels: dict[str, dict[str, int]], split: str = "test"
    ) -> dict[str, Any]:
        from sklearn.metrics import brier_score_loss, roc_auc_score

        keep = [q for q in runs if split_of(q) == split]
        if not keep:
            return {}
        y = np.asarray([_label(runs[q], qrels[q]) for q in keep])
        p = np.asarray([self.predict(runs[q]) for q in keep])
        raw = np.asarray([min(1.0, max(0.0, features(runs[q])[0])) for q in keep])
        out: dict[str, Any] = {
            "split": split,
            "queries": len(keep),
            "top1_relevant_rate": round(float(y.mean()), 4),
            "calibrated": {
                "ece": round(ece(p, y), 4),
                "brier": round(float(brier_score_loss(y, p)), 4),
            },
            "top_cosine_heuristic": {
                "ece": round(ece(raw, y), 4),
                "brier": round(float(brier_score_loss(y, raw)), 4),
            },
        }
        if 0 < y.sum() < len(y):
            out["calibrated"]["auroc"] = round(float(roc_auc_score(y, p)), 4)
            out["top_cosine_heuristic"]["auroc"] = round(float(roc_auc_score(y, raw)), 4)
        return out

    def save(self, path: Path = CALIBRATOR_PATH) -> None:
        data = {
            "features": list(FEATURES),
            "coef": self.coef,
            "intercept": self.intercept,
            "fitted_on": self.fitted_on,
        }
        path.write_text(json.dumps(data, indent=2) + "\n", encoding="utf-8")

    @classmethod
    def load(cls, path: Path = CALIBRATOR_PATH) -> RetrievalCalibrator:
        if not path.is_file():
            return cls(fitted_on={"note": "not fitted: podium train retrieval --data DIR"})
        data = json.loads(path.read_text(encoding="utf-8"))
        if tuple(data["features"]) != FEATURES:
            raise ValueError(f"{path} was fitted on other features: refit it")
        return cls(coef=data["coef"], intercept=data["intercept"], fitted_on=data["fitted_on"])


def _label(hits: list[Hit], relevant: dict[str, int]) -> int:
    return int(bool(hits) and hits[0].source in relevant)


def _xy(runs: dict[str, list[Hit]], qrels: dict[str, dict[str, int]], keep: Any) -> tuple[Any, Any]:
    qs = [q for q in runs if keep(q)]
    x = np.asarray([features(runs[q]) for q in qs])
    y = np.asarray([_label(runs[q], qrels[q]) for q in qs])
    return x, y
