"""Which head on frozen MiniLM features should the fact-check verifier ship? (issue 18)

    OMP_NUM_THREADS=1 python benchmarks/fact_check_heads.py [--data ../shared/data/fact_check]
        [--held-out] [--json]

Every arm is a logistic regression on features of the frozen encoder, scored by 5-fold
cross-validation grouped by claim on the **train** claims of the shared split only
(``split_claims(seed=0)``: 615 claims, 3,075 pairs): balanced accuracy, macro-F1 and F1 per
class of the out-of-fold argmax; ``flip recall``: the share of the held-out folds' contrast
pairs (direction / number / negation flips of SUPPORTS pairs, :mod:`augment`) called REFUTES,
i.e. the contradictions a written answer makes that guard_out must catch; and a probe: the
verdicts, from the arm fitted on all train claims, on three claims against one Arctic sea
ice sentence (declined: SUPPORTS, shrunk: SUPPORTS, growing: REFUTES; the same example the
expert's tests use).

Features: ``base`` = ``[u, v, |u-v|, u*v]`` (the frozen baseline of ``fact_check.py``);
``lex`` = the 16 lexical cues of :mod:`features`; ``pair`` = ``[|u-v|, u*v]`` (the shipped
head's embedding part, without the raw vectors). ``std`` standardises, ``boost`` divides the
lexical features' scale (the shipped head uses 5); ``w`` is the contrast pairs' sample
weight (0: no augmentation). ``--held-out`` also fits the arms named in ``HELD_OUT`` on all
train claims and scores the 154 held-out claims (770 pairs), once, for the report.
"""

from __future__ import annotations

import argparse
import json
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import torch

from podium.experts.fact_check.augment import contrast_pairs
from podium.experts.fact_check.features import LEXICAL_NAMES, lexical_features
from podium.experts.fact_check.labels import LABELS, REFUTES, SUPPORTS
from podium.experts.fact_check.train import load_pairs, split_claims
from podium.models.embeddings import load_embedder

ROOT = Path(__file__).resolve().parents[1]
ICE = (
    "Arctic sea ice extent has declined sharply since satellite records began in 1979, "
    "shrinking by about 13 percent per decade."
)
PROBE = (
    "Arctic sea ice has declined since 1979.",
    "Arctic sea ice has shrunk since 1979.",
    "Arctic sea ice has been growing since 1979.",
)


@dataclass(frozen=True)
class Arm:
    name: str
    features: str  # "base", "base+lex" or "pair+lex"
    c: float
    balanced: bool = True
    w: float = 0.0
    std: bool = False
    boost: float = 1.0


ARMS = (
    Arm("baseline recipe (base, balanced LR, C=1)", "base", 1.0),
    *(Arm(f"base, C={c:g}", "base", c) for c in (0.1, 0.3, 3.0)),
    *(
        Arm(f"base+lex, C={c:g}, w={w:g}", "base+lex", c, w=w)
        for c in (0.1, 0.3, 1.0)
        for w in (0.0, 0.1, 0.3, 1.0)
    ),
    *(
        Arm(f"pair+lex std boost {b:g}, C={c:g}, w={w:g}", "pair+lex", c, w=w, std=True, boost=b)
        for b in (1.0, 5.0)
        for c in (0.0003, 0.001)
        for w in (0.0, 0.1, 0.3)
    ),
    Arm(
        "shipped recipe (pair+lex std boost 5, C=3e-4, w=1, unbalanced)",
        "pair+lex",
        3e-4,
        balanced=False,
        w=1.0,
        std=True,
        boost=5.0,
    ),
)
HELD_OUT = ("baseline recipe (base, balanced LR, C=1)", "base, C=0.3", "base+lex, C=0.1, w=0.1")


def features(kind: str, claims: list[str], evidences: list[str], emb: dict) -> np.ndarray:
    u = np.stack([emb[c] for c in claims])
    v = np.stack([emb[e] for e in evidences])
    parts = [u, v, np.abs(u - v), u * v] if kind.startswith("base") else [np.abs(u - v), u * v]
    if kind.endswith("+lex"):
        cos = (u * v).sum(axis=1)
        rows = zip(claims, evidences, cos, strict=True)
        lex = [lexical_features(c, e, float(s)) for c, e, s in rows]
        parts.append(np.array(lex, dtype=np.float32))
    return np.hstack(parts)


def fit(arm: Arm, x: np.ndarray, y: np.ndarray, w: np.ndarray) -> Any:
    from sklearn.linear_model import LogisticRegression
    from sklearn.pipeline import make_pipeline
    from sklearn.preprocessing import FunctionTransformer, StandardScaler

    weight = "balanced" if arm.balanced else None
    lr = LogisticRegression(C=arm.c, class_weight=weight, max_iter=3000, random_state=0)
    if not arm.std:
        return lr.fit(x, y, sample_weight=w)
    scaler = StandardScaler().fit(x)
    scaler.scale_[-len(LEXICAL_NAMES) :] /= arm.boost
    model = make_pipeline(FunctionTransformer(scaler.transform), lr)
    return model.fit(x, y, logisticregression__sample_weight=w)


def scores(y: np.ndarray, pred: np.ndarray) -> dict[str, Any]:
    from sklearn.metrics import balanced_accuracy_score, f1_score

    f1 = f1_score(y, pred, labels=[0, 1, 2], average=None, zero_division=0)
    return {
        "balanced_accuracy": round(float(balanced_accuracy_score(y, pred)), 3),
        "macro_f1": round(float(f1.mean()), 3),
        "f1": {LABELS[i]: round(float(f1[i]), 3) for i in range(3)},
    }


def main() -> None:
    from sklearn.model_selection import GroupKFold

    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data", type=Path, default=ROOT.parent / "shared/data/fact_check")
    parser.add_argument("--held-out", action="store_true", help="score HELD_OUT arms on test")
    parser.add_argument("--json", action="store_true")
    args = parser.parse_args()
    torch.set_num_threads(1)
    train, test = split_claims(load_pairs(args.data), 0)
    y = train.labels
    con = contrast_pairs(train.claims, train.evidences, list(y), SUPPORTS, REFUTES)
    src = np.array([i for i, *_ in con])
    y_con = np.array([label for *_, label in con])
    con_c, con_e = [c for _, c, _, _ in con], [e for _, _, e, _ in con]
    texts = [*train.claims, *train.evidences, *test.claims, *test.evidences, *con_c, *con_e]
    unique = list(dict.fromkeys([*texts, ICE, *PROBE]))
    start = time.perf_counter()
    emb = dict(zip(unique, load_embedder("local:minilm").encode(unique), strict=True))
    print(f"encoded {len(unique)} texts in {time.perf_counter() - start:.0f} s")
    folds = list(GroupKFold(n_splits=5).split(y, y, groups=train.groups))
    rows = []
    for arm in ARMS:
        x = features(arm.features, train.claims, train.evidences, emb)
        x_con = features(arm.features, con_c, con_e, emb)
        oof = np.zeros(len(y), dtype=int)
        caught = []
        for fit_idx, held in folds:
            more = np.isin(src, fit_idx) & (arm.w > 0)
            xs = np.vstack([x[fit_idx], x_con[more]])
            ys = np.concatenate([y[fit_idx], y_con[more]])
            ws = np.concatenate([np.ones(len(fit_idx)), np.full(int(more.sum()), arm.w)])
            model = fit(arm, xs, ys, ws)
            oof[held] = model.predict(x[held])
            flips = np.isin(src, held) & (y_con == REFUTES)
            caught.append(model.predict(x_con[flips]) == REFUTES)
        out = {"name": arm.name, "cv": scores(y, oof)}
        out["flip_recall"] = round(float(np.concatenate(caught).mean()), 3)
        more = np.full(len(y_con), arm.w > 0)
        weights = np.concatenate([np.ones(len(y)), np.full(int(more.sum()), arm.w)])
        model = fit(arm, np.vstack([x, x_con[more]]), np.concatenate([y, y_con[more]]), weights)
        probe = model.predict(features(arm.features, list(PROBE), [ICE] * len(PROBE), emb))
        out["probe"] = [LABELS[int(p)] for p in probe]
        if args.held_out and arm.name in HELD_OUT:
            x_test = features(arm.features, test.claims, test.evidences, emb)
            out["held_out"] = scores(test.labels, model.predict(x_test))
        rows.append(out)
        if not args.json:
            cv, f1 = out["cv"], out["cv"]["f1"]
            line = (
                f"{arm.name}: CV bal {cv['balanced_accuracy']:.3f} mF1 {cv['macro_f1']:.3f} "
                f"F1 S/R/N {f1['SUPPORTS']:.3f}/{f1['REFUTES']:.3f}/{f1['NOT_ENOUGH_INFO']:.3f}"
                f" flip recall {out['flip_recall']:.2f} probe "
                + "/".join(p[0] for p in out["probe"])
            )
            if "held_out" in out:
                h = out["held_out"]
                line += f" | held-out bal {h['balanced_accuracy']:.3f} R {h['f1']['REFUTES']:.3f}"
            print(line, flush=True)
    if args.json:
        print(json.dumps(rows, indent=2))


if __name__ == "__main__":
    main()
