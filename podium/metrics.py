"""Measures shared by the experts, the collaboration mechanisms and their training.

One definition each, so a figure means the same thing in every report that prints it.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np


def ece(
    confidences: Sequence[float] | np.ndarray,
    correct: Sequence[bool] | np.ndarray,
    bins: int = 10,
) -> float:
    """Expected calibration error: the bin-weighted gap between confidence and accuracy.

    ``bins`` equal-width bins over [0, 1], each closed on the left (the last one on both
    sides, so a confidence of 1 counts); confidences outside [0, 1] are clipped. Raises
    ValueError when the two sequences differ in length or are empty.
    """
    p = np.clip(np.asarray(confidences, dtype=float), 0.0, 1.0)
    y = np.asarray(correct, dtype=float)
    if p.shape != y.shape or p.size == 0:
        raise ValueError("ece needs as many confidences as outcomes, and at least one")
    idx = np.minimum((p * bins).astype(int), bins - 1)
    total = 0.0
    for b in range(bins):
        mask = idx == b
        if mask.any():
            total += mask.mean() * abs(p[mask].mean() - y[mask].mean())
    return float(total)
