"""Fact checking: verifiers on unseen claims, throughput, and the exit guardian's alarms.

    python benchmarks/fact_check.py [--data ../shared/data/fact_check] [--json]
        [--only quality,speed,guard[,cascade]] [--threshold 0.6 --limit 60]

Quality: every verifier on the claim-level held-out split of ``../shared/data/fact_check``
(the 154 claims / 770 pairs of ``GroupShuffleSplit(test_size=0.2, random_state=0)`` by
claim: no verifier below was trained or calibrated on them): majority class; the frozen-
encoder baseline (``[u, v, |u-v|, u*v]`` of frozen MiniLM, class-balanced logistic
regression, trained on the other 615 claims); the head verifier (``"builtin"``); the
cross-encoder (``"cross"``), alone and with the evidence gate of ``evidence.py``.

Speed: claims/s through ``FactChecker.check`` (one claim against its 5 evidence sentences,
top 4 scored), torch on 2 threads, against the bare encoder embedding the same texts in the
same process (the ratio is the figure to trust on a shared machine).

Guard: how often ``FactCheckGuardian`` flags a correct answer (false alarms) and a
contradicted one (detections): the demo shop's documents with 22 faithful and 22
contradicted answers (``tests/fact_check/demo_answers.json``); Climate-FEVER held-out claims
as answers against their own five evidence sentences (SUPPORTS and NOT_ENOUGH_INFO claims
are correct answers, REFUTES claims and direction/number/negation flips of SUPPORTS claims
are contradicted ones). Alarm rates are given for several ``min_confidence`` values, on the
calibration claims (where the default is chosen) and on the test claims.

Cascade (opt-in, slow): the ``large`` role (Qwen2.5-Coder-1.5B on the ladder) judges the test
pairs the cross-encoder is unsure of, constrained to the three labels, the small verdict as a
hint; both are scored on those pairs.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import time
from pathlib import Path
from typing import Any

import numpy as np
import torch

from podium.experts.fact_check import FactChecker, FactCheckGuardian, Source, load_verifier
from podium.experts.fact_check.augment import flip
from podium.experts.fact_check.evidence import gate
from podium.experts.fact_check.train import (
    LABELS,
    claim_key,
    claim_level,
    evaluate_probs,
    load_claim_labels,
    load_pairs,
    split_claims,
)
from podium.experts.fact_check.train_cross import three_way_split
from podium.guardians import GuardInput
from podium.models.embeddings import load_embedder

ROOT = Path(__file__).resolve().parents[1]
DEMO = ROOT / "podium" / "demo" / "docs"
DEMO_ANSWERS = ROOT / "tests" / "fact_check" / "demo_answers.json"
THRESHOLDS = (0.2, 0.25, 0.3, 0.4, 0.5, 0.6, 0.7, 0.8, 0.9)


def row(
    name: str,
    y: np.ndarray,
    probs: np.ndarray,
    pred: np.ndarray,
    test: Any,
    claims: dict[str, str],
    seconds: float = 0.0,
) -> dict[str, Any]:
    out = evaluate_probs(y, probs, pred)
    out["claims"] = claim_level(test, pred, claims)
    out["name"] = name
    if seconds:
        out["pairs_per_s"] = round(len(y) / seconds, 1)
    return out


VERIFIERS = {"builtin": "head verifier (default)", "cross": "cross-encoder (opt-in)"}


def frozen_baseline(train: Any, test: Any, claims: dict[str, str]) -> dict[str, Any]:
    """``[u, v, |u-v|, u*v]`` of frozen MiniLM, class-balanced logistic regression."""
    from sklearn.linear_model import LogisticRegression

    embed = load_embedder("local:minilm")

    def feats(p: Any) -> np.ndarray:
        u, v = embed.encode(p.claims), embed.encode(p.evidences)
        return np.hstack([u, v, np.abs(u - v), u * v])

    lr = LogisticRegression(class_weight="balanced", max_iter=3000, random_state=0)
    lr.fit(feats(train), train.labels)
    p = lr.predict_proba(feats(test))
    name = "frozen MiniLM [u,v,|u-v|,u*v] + balanced LR"
    return row(name, test.labels, p, p.argmax(1), test, claims)


def quality(
    data: Path, specs: tuple[str, ...] = tuple(VERIFIERS), baselines: bool = True
) -> list[dict[str, Any]]:
    pairs = load_pairs(data)
    train, test = split_claims(pairs, 0)
    claims = load_claim_labels(data)
    y = test.labels
    prior = np.bincount(train.labels, minlength=3) / len(train.labels)  # stated confidence
    majority = np.tile(prior, (len(y), 1))
    rows = [row("majority class (NEI)", y, majority, np.full(len(y), 2), test, claims)]
    if baselines:
        rows.append(frozen_baseline(train, test, claims))
    for spec in specs:
        name = VERIFIERS.get(spec, spec)
        verifier = load_verifier(spec)
        seen = getattr(verifier, "trained_claims", frozenset())
        assert not seen & set(test.groups), f"{spec} was trained on test claims"
        start = time.perf_counter()
        probs = verifier.predict(test.claims, test.evidences)
        seconds = time.perf_counter() - start
        pred = verifier.decide(probs)
        rows.append(row(name, y, probs, pred, test, claims, seconds))
        if spec == "builtin":
            continue
        gated = np.array(
            [
                gate(c, [e], pred[i : i + 1])[0]
                for i, (c, e) in enumerate(zip(test.claims, test.evidences, strict=True))
            ]
        )
        rows.append(row(f"{name} + evidence gate", y, probs, gated, test, claims))
    return rows


def throughput(data: Path, n_claims: int = 40) -> dict[str, Any]:
    pairs = load_pairs(data)
    by_claim: dict[str, list[str]] = {}
    for c, e in zip(pairs.claims, pairs.evidences, strict=True):
        by_claim.setdefault(c, []).append(e)
    claims = list(by_claim)[:n_claims]
    out: dict[str, Any] = {
        "claims": len(claims),
        "evidence_per_claim": 5,
        "torch_threads": torch.get_num_threads(),
    }
    embedder = load_embedder("local:minilm")
    embedder.encode(claims[:4])
    start = time.perf_counter()
    for claim in claims:
        embedder.encode([claim, *by_claim[claim]])
    base = time.perf_counter() - start
    out["encoder_only_claims_per_s"] = round(len(claims) / base, 1)
    for spec in ("builtin", "cross"):
        checker = FactChecker(load_verifier(spec))
        checker.check(claims[:2], [Source(e) for e in by_claim[claims[0]]])  # warm up
        start = time.perf_counter()
        for claim in claims:
            checker.check([claim], [Source(e) for e in by_claim[claim]])
        took = time.perf_counter() - start
        out[spec] = {
            "claims_per_s": round(len(claims) / took, 1),
            "ratio_vs_encoder_only": round(base / took, 2),
        }
    return out


def _flag_score(guardian: FactCheckGuardian, answer: str, evidence: list[dict[str, str]]) -> float:
    """The guardian's confidence that ``answer`` is contradicted (0 when nothing is refuted)."""
    guardian.min_confidence = 0.0
    verdict = asyncio.run(guardian.inspect(GuardInput(text=answer, stage="out", evidence=evidence)))
    return float(verdict.score or 0.0) if verdict.action != "allow" else 0.0


def _rates(scores: list[float]) -> dict[str, float]:
    s = np.array(scores)
    return {f"{t:g}": round(float((s >= t).mean()), 4) for t in THRESHOLDS}


def guard(
    data: Path, spec: str = "builtin", sets: tuple[str, ...] = ("calibration_claims", "test_claims")
) -> dict[str, Any]:
    guardian = FactCheckGuardian(spec)
    docs = [
        {"kind": "passage", "text": p.read_text(encoding="utf-8"), "source": p.name}
        for p in sorted(DEMO.glob("*.md"))
    ]
    cases = json.loads(DEMO_ANSWERS.read_text(encoding="utf-8"))
    out: dict[str, Any] = {
        "demo": {
            "n": len(cases),
            "false_alarms": _rates([_flag_score(guardian, c["good"], docs) for c in cases]),
            "detections": _rates([_flag_score(guardian, c["bad"], docs) for c in cases]),
        }
    }
    records = [json.loads(line) for line in (data / "claims.jsonl").read_text().splitlines()]
    _, cal, test = three_way_split(load_pairs(data), 0, 0.15)
    for name, part in (("calibration_claims", cal), ("test_claims", test)):
        if name not in sets:
            continue
        keys = set(part.groups)
        mine = [r for r in records if claim_key(r["claim"]) in keys]
        scores: dict[str, list[float]] = {
            "SUPPORTS": [],
            "NOT_ENOUGH_INFO": [],
            "REFUTES": [],
            "flipped": [],
        }
        for r in mine:
            ev = [
                {"kind": "passage", "text": e["evidence"], "source": e["article"]}
                for e in r["evidences"]
            ]
            label = r["claim_label"]
            if label in scores:
                scores[label].append(_flag_score(guardian, r["claim"], ev))
            if label == "SUPPORTS":
                flipped = flip(r["claim"], " ".join(e["text"] for e in ev))
                if flipped and flipped != r["claim"]:
                    scores["flipped"].append(_flag_score(guardian, flipped, ev))
        out[name] = {
            "false_alarms_supported": _rates(scores["SUPPORTS"]),
            "false_alarms_nei": _rates(scores["NOT_ENOUGH_INFO"]),
            "detections_refuted": _rates(scores["REFUTES"]),
            "detections_flipped": _rates(scores["flipped"]),
            "n": {k: len(v) for k, v in scores.items()},
        }
    return out


JUDGE = (
    "Claim: {claim}\nEvidence: {evidence}\n"
    "A small verifier trained on such pairs says: {hint} (confidence {conf:.2f}); it is often "
    "unsure on pairs like this one.\n"
    "Does the evidence support the claim, refute it, or neither? "
    "Answer with exactly one of: SUPPORTS, REFUTES, NOT_ENOUGH_INFO."
)


def cascade(data: Path, threshold: float, limit: int) -> dict[str, Any]:
    """The ``large`` role judges test pairs whose calibrated confidence is under ``threshold``
    (a seeded sample of at most ``limit``), constrained to the three labels, with the small
    verdict as a hint; compared with the small verdict on the same pairs."""
    from podium.models.local_llama import ChatLlamaCpp
    from podium.models.provider import ModelProvider
    from podium.models.roles import default_roles
    from podium.orchestrator.collaboration.llm import choice_grammar, closest_choice

    _, test = split_claims(load_pairs(data), 0)
    verifier = load_verifier("cross")
    probs = verifier.predict(test.claims, test.evidences)
    pred = verifier.decide(probs)
    conf = probs[np.arange(len(pred)), pred]
    low = np.flatnonzero(conf < threshold)
    sample = np.sort(np.random.default_rng(0).permutation(low)[:limit])
    provider = ModelProvider(default_roles())
    chat = provider.base_chat(role="large")
    if isinstance(chat, ChatLlamaCpp):
        chat = chat.bind(grammar=choice_grammar(LABELS), max_tokens=8, temperature=0.0)
    judged = pred.copy()
    start = time.perf_counter()
    for i in sample:
        prompt = JUDGE.format(
            claim=test.claims[i], evidence=test.evidences[i], hint=LABELS[pred[i]], conf=conf[i]
        )
        reply = str(chat.invoke(prompt).content)
        judged[i] = LABELS.index(closest_choice(reply, LABELS))
    seconds = time.perf_counter() - start
    y = test.labels[sample]
    small = evaluate_probs(y, probs[sample], pred[sample])
    large = evaluate_probs(y, probs[sample], judged[sample])
    return {
        "large": provider.label(role="large"),
        "threshold": threshold,
        "escalation_rate": round(len(low) / len(pred), 4),
        "large_calls_per_claim": round(len(low) / len(set(test.groups)), 2),
        "judged_pairs": len(sample),
        "s_per_call": round(seconds / max(len(sample), 1), 2),
        "large_label_share": {
            LABELS[k]: round(float((judged[sample] == k).mean()), 3) for k in range(3)
        },
        "on_judged_pairs": {
            "small": {k: small[k] for k in ("accuracy", "balanced_accuracy", "macro_f1", "f1")},
            "cascade": {k: large[k] for k in ("accuracy", "balanced_accuracy", "macro_f1", "f1")},
        },
        "whole_test_set_if_sample_is_all": evaluate_probs(test.labels, probs, judged)
        if len(sample) == len(low)
        else None,
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data", type=Path, default=ROOT.parent / "shared/data/fact_check")
    parser.add_argument("--claims", type=int, default=40, help="claims for the speed test")
    parser.add_argument("--only", default="quality,speed,guard")
    parser.add_argument(
        "--verifiers", default="builtin,cross", help="load_verifier specs for the quality table"
    )
    parser.add_argument("--guard-verifier", default="builtin", help="the guardian's verifier")
    parser.add_argument("--guard-sets", default="calibration_claims,test_claims")
    parser.add_argument("--no-baselines", action="store_true", help="skip the frozen LR")
    parser.add_argument("--threshold", type=float, default=0.6, help="cascade: escalate under")
    parser.add_argument("--limit", type=int, default=60, help="cascade: most pairs judged")
    parser.add_argument("--json", action="store_true")
    args = parser.parse_args()
    torch.set_num_threads(min(2, torch.get_num_threads()))
    parts = set(args.only.split(","))
    result: dict[str, Any] = {}
    if "quality" in parts:
        specs = tuple(v for v in args.verifiers.split(",") if v)
        result["quality"] = quality(args.data, specs, not args.no_baselines)
    if "speed" in parts:
        result["speed"] = throughput(args.data, args.claims)
    if "guard" in parts:
        result["guard"] = guard(args.data, args.guard_verifier, tuple(args.guard_sets.split(",")))
    if "cascade" in parts:
        result["cascade"] = cascade(args.data, args.threshold, args.limit)
    if args.json:
        print(json.dumps(result, indent=2))
        return
    for q in result.get("quality", []):
        f1 = " / ".join(f"{q['f1'][k]:.3f}" for k in LABELS)
        print(
            f"{q['name']}: balanced acc {q['balanced_accuracy']:.3f}, macro-F1 "
            f"{q['macro_f1']:.3f}, F1 S/R/NEI {f1}, ECE {q['ece']:.3f}; claim level "
            f"{q['claims'].get('balanced_accuracy')}"
        )
    if "speed" in result:
        print(json.dumps(result["speed"]))
    for part in ("guard", "cascade"):
        if part in result:
            print(json.dumps(result[part], indent=1))


if __name__ == "__main__":
    main()
