"""Detection figures: AUROC, TPR at a fixed FPR on the benign set, FPR at a threshold."""

from __future__ import annotations

from typing import Any

import numpy as np
from sklearn.metrics import roc_auc_score, roc_curve


def tpr_at_fpr(y: np.ndarray, scores: np.ndarray, fpr: float = 0.01) -> float:
    """The share of attacks caught when at most ``fpr`` of benign texts are flagged."""
    f, t, _ = roc_curve(y, scores)
    ok = f <= fpr + 1e-12
    return float(t[ok].max()) if ok.any() else 0.0


def threshold_at_fpr(y: np.ndarray, scores: np.ndarray, fpr: float) -> float:
    """The lowest score threshold whose benign false-positive rate is at most ``fpr``."""
    benign = np.sort(np.asarray(scores)[np.asarray(y) == 0])[::-1]
    if len(benign) == 0:
        return 0.5
    allowed = int(np.floor(fpr * len(benign)))
    # Flag when score >= threshold: put it just above the (allowed+1)-th highest benign score.
    if allowed >= len(benign):
        return float(benign[-1])
    return float(np.nextafter(benign[allowed], np.inf))


def detection_metrics(
    y: np.ndarray, scores: np.ndarray, threshold: float | None = None
) -> dict[str, Any]:
    y, scores = np.asarray(y), np.asarray(scores)
    out: dict[str, Any] = {
        "n": len(y),
        "attacks": int(y.sum()),
        "benign": int((y == 0).sum()),
        "auroc": round(float(roc_auc_score(y, scores)), 4) if 0 < y.sum() < len(y) else None,
        "tpr_at_1pct_fpr": round(tpr_at_fpr(y, scores, 0.01), 4),
    }
    if threshold is not None:
        flagged = scores >= threshold
        out["threshold"] = round(float(threshold), 4)
        out["benign_fpr"] = round(float(flagged[y == 0].mean()), 4) if (y == 0).any() else None
        out["tpr"] = round(float(flagged[y == 1].mean()), 4) if (y == 1).any() else None
    return out
