"""The combined score: a logistic regression over the signals, learned from labelled pairs.

Features per (source column, target column): each signal's value, and its gap to the best
value any target gets for that source column (how close this candidate is to the signal's
own favourite). The model is tiny (a JSON file of coefficients shipped in the package) and is
retrained with ``podium train schema_match --data DIR``. The acceptance threshold for a
column's best candidate is chosen on the training pairs to maximise F1.
"""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass, field
from pathlib import Path

import numpy as np
from sklearn.linear_model import LogisticRegression

from podium.errors import ConfigError

from .signals import SIGNALS

WEIGHTS_PATH = Path(__file__).with_name("weights.json")


def feature_names(signals: tuple[str, ...] = SIGNALS) -> list[str]:
    return [*signals, *(f"{s}_gap" for s in signals)]


def features(sig: dict[str, np.ndarray], signals: tuple[str, ...] = SIGNALS) -> np.ndarray:
    """|source| x |target| x n_features. Missing signals count as 0."""
    shape = next(iter(sig.values())).shape
    raw = [sig.get(s, np.zeros(shape, np.float32)) for s in signals]
    gaps = [m - (m.max(axis=1, keepdims=True) if m.size else 0) for m in raw]
    return np.stack(raw + gaps, axis=-1).astype(np.float32)


@dataclass
class Combiner:
    """A fitted logistic regression over :func:`features`."""

    signals: list[str]
    coef: list[float]
    intercept: float
    threshold: float = 0.5
    trained_on: list[str] = field(default_factory=list)

    def score(self, sig: dict[str, np.ndarray]) -> np.ndarray:
        x = features(sig, tuple(self.signals))
        z = x @ np.asarray(self.coef, np.float32) + self.intercept
        return (1.0 / (1.0 + np.exp(-z))).astype(np.float32)

    def save(self, path: Path = WEIGHTS_PATH) -> None:
        path.write_text(json.dumps(asdict(self), indent=1) + "\n")

    @classmethod
    def load(cls, path: Path = WEIGHTS_PATH) -> Combiner:
        if not path.is_file():
            raise ConfigError(
                f"no schema-matching weights at {path}",
                hint="train them: podium train schema_match --data ../shared/data/schema_match",
            )
        data = json.loads(path.read_text())
        if len(data["coef"]) != len(feature_names(tuple(data["signals"]))):
            raise ConfigError(f"{path} does not hold a schema-matching model; retrain it")
        return cls(**data)


def fit(
    examples: list[tuple[dict[str, np.ndarray], np.ndarray]],
    *,
    names: list[str] | None = None,
    signals: tuple[str, ...] = SIGNALS,
    labelled_only: bool = True,
) -> Combiner:
    """Fit on (signals, label matrix) pairs. Labels: 1 where (source, target) is a match.

    By default only source columns with at least one match are used, every other target
    being a negative for them (``labelled_only=False`` also uses the columns with no match
    as all-negative rows; on the GDC pairs that lowered LOPO recall@GT from 0.44 to 0.39).
    """
    xs, ys = [], []
    for sig, labels in examples:
        rows = labels.any(axis=1) if labelled_only else np.ones(len(labels), bool)
        if not labels.any():
            continue
        x = features(sig, signals)[rows]
        xs.append(x.reshape(-1, x.shape[-1]))
        ys.append(labels[rows].reshape(-1))
    if not xs:
        raise ConfigError("no labelled matches to learn from", hint="check groundtruth.csv files")
    x, y = np.concatenate(xs), np.concatenate(ys).astype(int)
    model = LogisticRegression(C=1.0, max_iter=2000)
    model.fit(x, y)
    combiner = Combiner(
        signals=list(signals),
        coef=[round(float(c), 6) for c in model.coef_[0]],
        intercept=round(float(model.intercept_[0]), 6),
        trained_on=names or [],
    )
    combiner.threshold = _best_threshold(combiner, examples)
    return combiner


def _best_threshold(
    combiner: Combiner, examples: list[tuple[dict[str, np.ndarray], np.ndarray]]
) -> float:
    """The cut on a column's best score that maximises pooled F1 of top-1 matches."""
    best_scores, correct, total_gt = [], [], 0
    for sig, labels in examples:
        scores = combiner.score(sig)
        top = scores.argmax(axis=1)
        best_scores.extend(scores[np.arange(len(top)), top])
        correct.extend(labels[np.arange(len(top)), top])
        total_gt += int(labels.any(axis=1).sum())
    order = np.argsort(best_scores)[::-1]
    s, c = np.asarray(best_scores)[order], np.asarray(correct, float)[order]
    tp = np.cumsum(c)
    predicted = np.arange(1, len(s) + 1)
    f1 = 2 * tp / (predicted + max(total_gt, 1))
    i = int(np.argmax(f1))
    return round(float(s[i]), 6)
