"""Calibrated confidences: temperature or isotonic scaling, fit per expert on held-out data.

A calibrator maps an expert's raw confidence to the probability that its answer is right.
``fit_calibrator`` fits one on (confidence, correct) pairs and reports the expected
calibration error (ECE, 10 equal-width bins) before and after, measured by two-fold
cross-fitting so the "after" figure is not measured on the data it was fit on. A calibrator
is stored with its expert (``expert.calibrator``, and ``save``/``load`` as JSON beside it).
"""

from __future__ import annotations

import json
import math
from collections.abc import Sequence
from pathlib import Path
from typing import Any, Literal

import numpy as np
from pydantic import BaseModel, Field

from podium.metrics import ece

Method = Literal["temperature", "isotonic"]
_EPS = 1e-6


class Calibrator(BaseModel):
    """Maps a raw confidence in [0, 1] to a calibrated one."""

    method: Method
    temperature: float = 1.0
    xs: list[float] = Field(default_factory=list, description="isotonic knots (raw)")
    ys: list[float] = Field(default_factory=list, description="isotonic knots (calibrated)")
    report: dict[str, Any] = Field(default_factory=dict)

    def __call__(self, confidence: float) -> float:
        c = min(1.0, max(0.0, float(confidence)))
        if self.method == "temperature":
            z = _logit(c) / self.temperature
            return 1.0 / (1.0 + math.exp(-z))
        return float(np.interp(c, self.xs, self.ys)) if self.xs else c

    def many(self, confidences: Sequence[float]) -> list[float]:
        return [self(c) for c in confidences]

    def save(self, path: str | Path) -> Path:
        path = Path(path)
        path.write_text(self.model_dump_json(indent=1), encoding="utf-8")
        return path

    @classmethod
    def load(cls, path: str | Path) -> Calibrator:
        try:
            return cls.model_validate(json.loads(Path(path).read_text(encoding="utf-8")))
        except (OSError, ValueError) as exc:
            raise ValueError(
                f"cannot read a calibrator from {path}: {exc}; refit it with fit_calibrator"
            ) from exc


def _logit(p: float) -> float:
    p = min(1 - _EPS, max(_EPS, p))
    return math.log(p / (1 - p))


def _fit(conf: np.ndarray, y: np.ndarray, method: Method) -> Calibrator:
    if method == "temperature":
        from scipy.optimize import minimize_scalar

        z = np.array([_logit(c) for c in conf])

        def nll(log_t: float) -> float:
            q = 1 / (1 + np.exp(-z / math.exp(log_t)))
            q = np.clip(q, _EPS, 1 - _EPS)
            return float(-(y * np.log(q) + (1 - y) * np.log(1 - q)).mean())

        best = minimize_scalar(nll, bounds=(-4.0, 4.0), method="bounded")
        return Calibrator(method="temperature", temperature=float(math.exp(best.x)))
    if method == "isotonic":
        from sklearn.isotonic import IsotonicRegression

        iso = IsotonicRegression(y_min=0.0, y_max=1.0, out_of_bounds="clip").fit(conf, y)
        return Calibrator(
            method="isotonic",
            xs=[float(x) for x in iso.X_thresholds_],
            ys=[float(v) for v in iso.y_thresholds_],
        )
    raise ValueError(f"unknown calibration method {method!r}: use temperature or isotonic")


def fit_calibrator(
    confidences: Sequence[float], correct: Sequence[bool], method: Method = "isotonic"
) -> Calibrator:
    """Fit a calibrator; ``report`` holds ECE before and after (two-fold cross-fitted)."""
    conf = np.clip(np.asarray(confidences, dtype=float), 0.0, 1.0)
    y = np.asarray(correct, dtype=float)
    if conf.shape != y.shape or conf.size < 4:
        raise ValueError(
            f"calibration needs at least 4 (confidence, correct) pairs of equal length; "
            f"got {conf.size} and {y.size}"
        )
    # Two folds by a fixed random permutation (not by position: data often comes ordered).
    half = np.zeros(conf.size, dtype=bool)
    half[np.random.default_rng(0).permutation(conf.size)[: conf.size // 2]] = True
    after = np.empty_like(conf)
    for fit_mask in (half, ~half):
        cal = _fit(conf[fit_mask], y[fit_mask], method)
        after[~fit_mask] = cal.many(conf[~fit_mask].tolist())
    final = _fit(conf, y, method)
    final.report = {
        "n": int(conf.size),
        "ece_before": round(ece(conf, y), 4),
        "ece_after": round(ece(after, y), 4),
        "accuracy": round(float(y.mean()), 4),
    }
    return final
