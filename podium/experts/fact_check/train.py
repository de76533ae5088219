"""Train and evaluate the shipped verifier on Climate-FEVER claim–evidence pairs.

Reproducible: the claim-level split, the folds and the classifier are all seeded.

- Split: claims (not pairs) are split 80 / 20 into train / validation with scikit-learn's
  ``GroupShuffleSplit(random_state=seed)`` grouped by claim, so no claim has pairs on both
  sides. Only the train claims are used to fit anything.
- Model: standardised :mod:`.features` (lexical ones up-weighted) → multinomial logistic
  regression; its ``C`` is chosen
  by 5-fold grouped cross-validation on the train claims (log loss).
- Calibration: temperature and per-class bias fitted by NLL on the out-of-fold logits;
  balanced decisions: probabilities are re-weighted by ``prior ** -alpha`` before the argmax,
  ``alpha`` chosen on the out-of-fold predictions for macro-F1.
"""

from __future__ import annotations

import json
from collections import Counter
from collections.abc import Collection, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from podium.errors import InputRejected
from podium.metrics import ece

from .augment import contrast_pairs
from .features import LEXICAL_NAMES
from .labels import LABELS, NEI, REFUTES, SUPPORTS, softmax
from .provenance import PROVENANCE
from .verifier import HeadWeights, claim_key, encode_pairs

ENCODER = "local:minilm"
C_GRID = (0.0003, 0.001, 0.003)
LEX_BOOST = 5.0
ALPHA_GRID = (0.0, 0.25, 0.5, 0.75, 1.0)


@dataclass
class Pairs:
    claims: list[str]
    evidences: list[str]
    labels: np.ndarray
    groups: list[str] = field(default_factory=list)

    def take(self, idx: Sequence[int]) -> Pairs:
        return Pairs(
            [self.claims[i] for i in idx],
            [self.evidences[i] for i in idx],
            self.labels[list(idx)],
            [self.groups[i] for i in idx],
        )

    def __len__(self) -> int:
        return len(self.claims)


def load_pairs(data: Path) -> Pairs:
    """``pairs.jsonl`` (``claim``, ``evidence``, ``label``) from a folder or the file itself."""
    path = data / "pairs.jsonl" if data.is_dir() else data
    if not path.is_file():
        raise InputRejected(
            f"no claim–evidence pairs at {path}",
            hint="point --data at a folder with pairs.jsonl (e.g. ../shared/data/fact_check)",
        )
    claims, evidences, labels = [], [], []
    for n, line in enumerate(path.read_text(encoding="utf-8").splitlines(), start=1):
        if not line.strip():
            continue
        try:
            row = json.loads(line)
            label = LABELS.index(str(row["label"]).upper())
            claims.append(str(row["claim"]))
            evidences.append(str(row["evidence"]))
        except (json.JSONDecodeError, KeyError, ValueError) as exc:
            raise InputRejected(
                f"{path}:{n} is not a claim–evidence pair ({type(exc).__name__}: {exc})",
                hint=f"each line needs claim, evidence and label in {', '.join(LABELS)}",
            ) from exc
        labels.append(label)
    if not claims:
        raise InputRejected(f"{path} has no pairs")
    return Pairs(claims, evidences, np.array(labels), [claim_key(c) for c in claims])


def split_claims(pairs: Pairs, seed: int = 0, valid: float = 0.2) -> tuple[Pairs, Pairs]:
    from sklearn.model_selection import GroupShuffleSplit

    gss = GroupShuffleSplit(n_splits=1, test_size=valid, random_state=seed)
    train, test = next(gss.split(pairs.claims, pairs.labels, groups=pairs.groups))
    return pairs.take(sorted(train)), pairs.take(sorted(test))


# -- metrics ------------------------------------------------------------------------------


def scores(y: np.ndarray, pred: np.ndarray, names: Sequence[str]) -> dict[str, Any]:
    from sklearn.metrics import accuracy_score, balanced_accuracy_score, f1_score

    labels = list(range(len(names)))
    per = f1_score(y, pred, labels=labels, average=None, zero_division=0)
    present = [i for i in labels if (y == i).any()]
    return {
        "n": len(y),
        "accuracy": round(float(accuracy_score(y, pred)), 4),
        "balanced_accuracy": round(float(balanced_accuracy_score(y, pred)), 4),
        "macro_f1": round(float(f1_score(y, pred, labels=present, average="macro")), 4),
        "f1": {names[i]: round(float(per[i]), 4) for i in labels},
        "support": {names[i]: int((y == i).sum()) for i in labels},
    }


def evaluate_probs(y: np.ndarray, probs: np.ndarray, pred: np.ndarray) -> dict[str, Any]:
    conf = probs[np.arange(len(pred)), pred]
    out = scores(y, pred, LABELS)
    out["ece"] = round(ece(conf, pred == y), 4)
    out["ece_argmax"] = round(ece(probs.max(axis=1), probs.argmax(axis=1) == y), 4)
    return out


CLAIM_LABELS = ("SUPPORTS", "REFUTES", "NOT_ENOUGH_INFO", "DISPUTED")


def claim_verdict(decisions: Sequence[int]) -> int:
    """A claim's label from its evidence decisions (Climate-FEVER's own aggregation)."""
    sup, ref = SUPPORTS in decisions, REFUTES in decisions
    if sup and ref:
        return 3
    return SUPPORTS if sup else REFUTES if ref else NEI


def claim_level(pairs: Pairs, pred: np.ndarray, claim_labels: dict[str, str]) -> dict[str, Any]:
    by_claim: dict[str, list[int]] = {}
    for g, p in zip(pairs.groups, pred, strict=True):
        by_claim.setdefault(g, []).append(int(p))
    keys = [k for k in by_claim if k in claim_labels]
    if not keys:
        return {"n": 0}
    y = np.array([CLAIM_LABELS.index(claim_labels[k]) for k in keys])
    p = np.array([claim_verdict(by_claim[k]) for k in keys])
    return scores(y, p, CLAIM_LABELS)


def load_claim_labels(data: Path) -> dict[str, str]:
    path = data / "claims.jsonl" if data.is_dir() else data.parent / "claims.jsonl"
    if not path.is_file():
        return {}
    out = {}
    for line in path.read_text(encoding="utf-8").splitlines():
        if line.strip():
            row = json.loads(line)
            out[claim_key(row["claim"])] = str(row["claim_label"]).upper()
    return out


# -- training -----------------------------------------------------------------------------


def _fit(x: np.ndarray, y: np.ndarray, c: float, seed: int) -> tuple[Any, Any]:
    """Standardise, then up-weight the few lexical features (:data:`LEX_BOOST`) so the L2
    penalty does not drown them among the embedding dimensions; then logistic regression."""
    from sklearn.linear_model import LogisticRegression
    from sklearn.preprocessing import StandardScaler

    scaler = StandardScaler().fit(x)
    scaler.scale_[-len(LEXICAL_NAMES) :] /= LEX_BOOST
    clf = LogisticRegression(C=c, max_iter=2000, random_state=seed)
    return scaler, clf.fit(scaler.transform(x), y)


def _calibrate(logits: np.ndarray, y: np.ndarray) -> tuple[float, np.ndarray]:
    from scipy.optimize import minimize

    def nll(params: np.ndarray) -> float:
        t, b = np.exp(params[0]), np.array([params[1], params[2], 0.0])
        z = logits / t + b
        z = z - z.max(axis=1, keepdims=True)
        return float(-(z[np.arange(len(y)), y] - np.log(np.exp(z).sum(axis=1))).mean())

    res = minimize(nll, np.zeros(3), method="Nelder-Mead", options={"maxiter": 2000})
    return float(np.exp(res.x[0])), np.array([res.x[1], res.x[2], 0.0])


def with_extra(pairs: Pairs, extra: Sequence[tuple[str, str, str]]) -> Pairs:
    """``pairs`` and the extra (claim, evidence, label) pairs after them."""
    if not extra:
        return pairs
    claims = [str(c) for c, _, _ in extra]
    return Pairs(
        [*pairs.claims, *claims],
        [*pairs.evidences, *(str(e) for _, e, _ in extra)],
        np.concatenate([pairs.labels, [LABELS.index(str(y).upper()) for _, _, y in extra]]),
        [*pairs.groups, *(claim_key(c) for c in claims)],
    )


def train(
    data: Path,
    seed: int = 0,
    log: Any = print,
    augment: bool = True,
    extra: Sequence[tuple[str, str, str]] = (),
    holdout: Collection[str] | None = None,
    known: dict[str, np.ndarray] | None = None,
) -> tuple[HeadWeights, dict[str, Any]]:
    """Fit the verifier on the train claims of ``data``; return its weights and a report.

    ``extra``: further (claim, evidence, label) pairs to train on, e.g. verdicts people
    confirmed (``podium learn``); they join the train claims, never the validation split, so
    the validation figures stay comparable with the shipped head's.
    ``holdout``: the claims (:func:`claim_key`) to leave out and validate on, instead of the
    seeded 20 % split — cross-fitting, so every claim can be scored by a head that never saw it
    (``podium bench fact_check --cross-fit``). ``known``: embeddings already computed for some
    texts, so several heads on the same data encode each text once."""
    from sklearn.metrics import f1_score, log_loss
    from sklearn.model_selection import GroupKFold

    pairs = load_pairs(data)
    if holdout is None:
        tr, va = split_claims(pairs, seed)
    else:
        held = set(holdout)
        tr = pairs.take([i for i, g in enumerate(pairs.groups) if g not in held])
        va = pairs.take([i for i, g in enumerate(pairs.groups) if g in held])
        if not len(tr) or not len(va):
            raise InputRejected(
                f"holding out {len(held)} claims leaves {len(tr)} train and {len(va)} "
                "validation pairs",
                hint="hold out some, not all, of the claims in pairs.jsonl",
            )
    tr = with_extra(tr, extra)
    log(
        f"pairs: {len(tr)} train / {len(va)} validation, claims: "
        f"{len(set(tr.groups))} / {len(set(va.groups))} (claim-level split, seed {seed})"
    )
    x_tr = encode_pairs(tr.claims, tr.evidences, ENCODER, known)
    x_va = encode_pairs(va.claims, va.evidences, ENCODER, known)
    y_tr = tr.labels
    contrast = (
        contrast_pairs(tr.claims, tr.evidences, list(y_tr), SUPPORTS, REFUTES) if augment else []
    )
    src = np.array([i for i, *_ in contrast], dtype=int)
    y_ex = np.array([y for *_, y in contrast], dtype=int)
    x_ex = (
        encode_pairs([c for _, c, _, _ in contrast], [e for _, _, e, _ in contrast], ENCODER, known)
        if contrast
        else x_tr[:0]
    )
    log(f"contrast pairs from the train claims: {len(contrast)} (see augment.py)")
    folds = list(GroupKFold(n_splits=5).split(x_tr, y_tr, groups=tr.groups))

    def fit_on(rows: np.ndarray, c: float) -> Any:
        more = np.isin(src, rows)
        x = np.vstack([x_tr[rows], x_ex[more]]) if len(contrast) else x_tr[rows]
        y = np.concatenate([y_tr[rows], y_ex[more]]) if len(contrast) else y_tr[rows]
        return _fit(x, y, c, seed)

    best: tuple[float, float, np.ndarray] | None = None
    for c in C_GRID:
        oof = np.zeros((len(y_tr), 3))
        for fit_idx, held in folds:
            scaler, clf = fit_on(fit_idx, c)
            oof[held] = clf.decision_function(scaler.transform(x_tr[held]))
        loss = log_loss(y_tr, softmax(oof), labels=[0, 1, 2])
        log(f"C={c:g}: out-of-fold log loss {loss:.4f}")
        if best is None or loss < best[0]:
            best = (loss, c, oof)
    assert best is not None
    _, c, oof = best
    temperature, bias = _calibrate(oof, y_tr)
    p_oof = softmax(oof / temperature + bias)
    prior = np.bincount(y_tr, minlength=3) / len(y_tr)
    alpha = max(
        ALPHA_GRID,
        key=lambda a: f1_score(y_tr, np.argmax(p_oof * prior**-a, axis=1), average="macro"),
    )
    decision = prior**-alpha / (prior**-alpha).max()

    scaler, clf = fit_on(np.arange(len(y_tr)), c)
    head = HeadWeights(
        mean=scaler.mean_,
        scale=scaler.scale_,
        layers=[(clf.coef_.T.copy(), clf.intercept_.copy())],
        temperature=temperature,
        bias=bias,
        decision=decision,
        encoder=ENCODER,
        trained_claims=frozenset(tr.groups),
        meta={
            "model": "logreg",
            "augment": str(augment),
            "C": f"{c:g}",
            "alpha": f"{alpha:g}",
            "seed": str(seed),
            **PROVENANCE,
        },
    )
    probs = head.probs(x_va)
    pred = np.argmax(probs * decision, axis=1)
    report = {
        "split": {
            "method": (
                f"GroupShuffleSplit by claim, 20% validation, seed {seed}"
                if holdout is None
                else f"{len(set(va.groups))} claims held out by the caller"
            ),
            "train_pairs": len(tr),
            "validation_pairs": len(va),
            "train_claims": len(set(tr.groups)),
            "validation_claims": len(set(va.groups)),
            "train_labels": dict(Counter(LABELS[i] for i in y_tr)),
            "contrast_pairs": len(contrast),
            "extra_pairs": len(extra),
        },
        "model": head.meta | {"temperature": round(temperature, 4)},
        "validation": evaluate_probs(va.labels, probs, pred),
        "validation_claims": claim_level(va, pred, load_claim_labels(data)),
    }
    return head, report


def evaluate(data: Path, verifier: Any = None) -> dict[str, Any]:
    """Measure a verifier on ``data``, leaving out every claim its weights were trained on
    (on the shared slice that is exactly the validation split; on a held-out set, nothing)."""
    from .verifier import load_verifier

    verifier = verifier or load_verifier()
    pairs = load_pairs(data)
    seen: frozenset[str] = getattr(verifier, "trained_claims", frozenset())
    keep = [i for i, g in enumerate(pairs.groups) if g not in seen]
    if not keep:
        raise InputRejected(
            f"every claim in {data} was used to train this verifier: nothing left to measure",
            hint="evaluate on a different slice (e.g. the held-out twin)",
        )
    held = pairs.take(keep)
    probs = verifier.predict(held.claims, held.evidences)
    pred = verifier.decide(probs)
    out = evaluate_probs(held.labels, probs, pred)
    out["left_out_training_pairs"] = len(pairs) - len(held)
    out["verifier"] = verifier.name
    out["claims"] = claim_level(held, pred, load_claim_labels(data))
    return out
