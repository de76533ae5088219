"""Fine-tune the cross-encoder verifier (:mod:`.cross`) on Climate-FEVER claim–evidence pairs.

Reproducible and CPU-sized:

- Split by claim, never by pair: the test claims are :func:`.train.split_claims`'s
  validation claims (20 %, the split every fact-check figure in BENCHMARKS.md uses); of the
  remaining claims 15 % are set aside for calibration, the rest fit the model. No claim has
  pairs in two parts.
- Training pairs: the fit claims' pairs plus the contrast pairs of :mod:`.augment` made from
  them (direction / number / negation flips), classes weighted by inverse frequency.
- Only the top ``top`` MiniLM layers and the head learn, so the frozen layers' output is
  computed once per pair and each epoch costs ``top / 6`` of a forward pass plus its backward.
- Calibration: temperature and per-class bias by NLL on the calibration claims; the decision
  weights (``prior ** -alpha``) are chosen there for macro-F1. The test claims are used only
  for the report.
"""

from __future__ import annotations

import time
from collections import Counter
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

import numpy as np

from .augment import contrast_pairs
from .cross import Card, PairModel, base_fingerprint
from .labels import LABELS, REFUTES, SUPPORTS, softmax
from .provenance import PROVENANCE
from .train import (
    ALPHA_GRID,
    Pairs,
    _calibrate,
    claim_level,
    evaluate_probs,
    load_claim_labels,
    load_pairs,
    split_claims,
)


@dataclass(frozen=True)
class CrossConfig:
    """Training settings; the defaults are the shipped model's (chosen on calibration claims)."""

    top: int = 2
    epochs: int = 3
    batch: int = 32
    lr: float = 1e-4
    head_lr: float = 1e-3
    weight_decay: float = 0.01
    augment: bool = True
    calibration: float = 0.15
    seed: int = 0


def three_way_split(pairs: Pairs, seed: int, calibration: float) -> tuple[Pairs, Pairs, Pairs]:
    """(fit, calibration, test) by claim; test = the shared 20 % validation claims."""
    rest, test = split_claims(pairs, seed)
    fit, cal = split_claims(rest, seed, valid=calibration)
    return fit, cal, test


def _batches(lengths: np.ndarray, batch: int, rng: np.random.Generator) -> list[np.ndarray]:
    """Shuffled batches of similar length (sort within chunks of 50 batches)."""
    order = rng.permutation(len(lengths))
    chunk = batch * 50
    out: list[np.ndarray] = []
    for i in range(0, len(order), chunk):
        part = order[i : i + chunk]
        part = part[np.argsort(lengths[part], kind="stable")]
        out += [part[j : j + batch] for j in range(0, len(part), batch)]
    return [out[i] for i in rng.permutation(len(out))]


def _cache_lower(model: PairModel, claims: list[str], evidences: list[str]) -> list[Any]:
    """The frozen layers' output for each pair, cut to its own length."""
    cached: list[Any] = [None] * len(claims)
    order = np.argsort([len(c) + len(e) for c, e in zip(claims, evidences, strict=True)])
    for i in range(0, len(order), 64):
        idx = order[i : i + 64]
        enc = model.tokenize([claims[j] for j in idx], [evidences[j] for j in idx])
        hidden = model.lower(enc)
        for row, j in enumerate(idx):
            n = int(enc["attention_mask"][row].sum())
            cached[j] = hidden[row, :n].clone()
    return cached


def fit(
    model: PairModel,
    claims: list[str],
    evidences: list[str],
    y: np.ndarray,
    cfg: CrossConfig,
    log: Any = print,
) -> None:
    import torch

    cached = _cache_lower(model, claims, evidences)
    lengths = np.array([len(h) for h in cached])
    labels = torch.tensor(y, dtype=torch.long)
    counts = np.bincount(y, minlength=len(LABELS)).astype(np.float64)
    weight = torch.tensor(len(y) / (len(LABELS) * np.maximum(counts, 1)), dtype=torch.float32)
    loss_fn = torch.nn.CrossEntropyLoss(weight=weight)
    layer_params = [p for layer in model.upper_layers() for p in layer.parameters()]
    opt = torch.optim.AdamW(
        [
            {"params": layer_params, "lr": cfg.lr},
            {"params": list(model.head.parameters()), "lr": cfg.head_lr},
        ],
        weight_decay=cfg.weight_decay,
    )
    rng = np.random.default_rng(cfg.seed)
    steps = cfg.epochs * int(np.ceil(len(y) / cfg.batch))
    sched = torch.optim.lr_scheduler.LambdaLR(
        opt, lambda s: min(1.0, (s + 1) / (0.1 * steps)) * max(0.0, (steps - s) / steps)
    )
    for epoch in range(cfg.epochs):
        model.train_mode(True)
        total, start = 0.0, time.perf_counter()
        for idx in _batches(lengths, cfg.batch, rng):
            width = int(lengths[idx].max())
            hidden = torch.zeros(len(idx), width, cached[idx[0]].shape[-1])
            mask = torch.zeros(len(idx), width, dtype=torch.long)
            for row, j in enumerate(idx):
                hidden[row, : lengths[j]] = cached[j]
                mask[row, : lengths[j]] = 1
            loss = loss_fn(model.upper(hidden, mask), labels[idx])
            opt.zero_grad()
            loss.backward()
            opt.step()
            sched.step()
            total += float(loss.detach()) * len(idx)
        log(
            f"epoch {epoch + 1}/{cfg.epochs}: loss {total / len(y):.4f} "
            f"({time.perf_counter() - start:.0f} s)"
        )
    model.train_mode(False)


def train_cross(
    data: Path, cfg: CrossConfig = CrossConfig(), log: Any = print
) -> tuple[PairModel, Card, dict[str, Any]]:
    """Fine-tune on the fit claims of ``data``, calibrate, and report on the test claims."""
    import torch
    from sklearn.metrics import f1_score

    from podium.models.embeddings import minilm_path

    torch.manual_seed(cfg.seed)
    started = time.perf_counter()
    pairs = load_pairs(data)
    fit_p, cal, test = three_way_split(pairs, cfg.seed, cfg.calibration)
    log(
        f"claims: {len(set(fit_p.groups))} fit / {len(set(cal.groups))} calibration / "
        f"{len(set(test.groups))} test (pairs {len(fit_p)} / {len(cal)} / {len(test)})"
    )
    extra = (
        contrast_pairs(fit_p.claims, fit_p.evidences, list(fit_p.labels), SUPPORTS, REFUTES)
        if cfg.augment
        else []
    )
    claims = fit_p.claims + [c for _, c, _, _ in extra]
    evidences = fit_p.evidences + [e for _, _, e, _ in extra]
    y = np.concatenate([fit_p.labels, np.array([lb for *_, lb in extra], dtype=int)])
    log(f"contrast pairs: {len(extra)}; training pairs: {len(y)}")
    base = minilm_path()
    model = PairModel(base, cfg.top)
    fit(model, claims, evidences, y, cfg, log)
    trained_at = time.perf_counter() - started

    cal_logits = model.logits(cal.claims, cal.evidences)
    temperature, bias = _calibrate(cal_logits, cal.labels)
    p_cal = softmax(cal_logits / temperature + bias)
    prior = np.bincount(cal.labels, minlength=3) / len(cal.labels)
    alpha = max(
        ALPHA_GRID,
        key=lambda a: f1_score(cal.labels, np.argmax(p_cal * prior**-a, axis=1), average="macro"),
    )
    decision = prior**-alpha / (prior**-alpha).max()
    log(f"calibration: temperature {temperature:.3f}, alpha {alpha:g}")

    card = Card(
        top=cfg.top,
        temperature=round(float(temperature), 6),
        bias=[round(float(b), 6) for b in bias],
        decision=[round(float(d), 6) for d in decision],
        base=base_fingerprint(base),
        trained_claims=sorted(set(fit_p.groups) | set(cal.groups)),
        meta={"config": asdict(cfg), **PROVENANCE},
    )
    start = time.perf_counter()
    probs = softmax(model.logits(test.claims, test.evidences) / temperature + bias)
    pred = np.argmax(probs * decision, axis=1)
    report: dict[str, Any] = {
        "split": {
            "method": f"by claim: test = 20% (GroupShuffleSplit seed {cfg.seed}), calibration "
            f"= {cfg.calibration:.0%} of the rest",
            "fit_claims": len(set(fit_p.groups)),
            "calibration_claims": len(set(cal.groups)),
            "test_claims": len(set(test.groups)),
            "fit_labels": dict(Counter(LABELS[i] for i in fit_p.labels)),
            "contrast_pairs": len(extra),
        },
        "config": asdict(cfg),
        "train_seconds": round(trained_at, 1),
        "test_pairs_per_s": round(len(test) / (time.perf_counter() - start), 1),
        "calibration": {"temperature": card.temperature, "alpha": alpha},
        # what settings are chosen by: the calibration claims, never the test claims
        "calibration_split": evaluate_probs(cal.labels, p_cal, np.argmax(p_cal * decision, axis=1)),
        "validation": evaluate_probs(test.labels, probs, pred),
        "validation_claims": claim_level(test, pred, load_claim_labels(data)),
    }
    card.meta["test"] = {
        k: report["validation"][k] for k in ("n", "balanced_accuracy", "macro_f1", "f1", "ece")
    }
    return model, card, report
