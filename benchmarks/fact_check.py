"""Fact checking: verifiers on unseen claims, throughput, and the exit guardian's alarms.

    python benchmarks/fact_check.py [--data ../shared/data/fact_check] [--json]
        [--only quality,speed,guard[,cascade]]
        [--cascade-claims 60 --cascade-part test --wordings plain --hint-from builtin]

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

Cascade (opt-in, slow; ``PODIUM_LLAMA_THREADS=1``): on a fixed-seed subset of held-out claims
(all their pairs; ``--cascade-claims``, a prefix of one seeded permutation, so a larger subset
contains a smaller one): majority, frozen baseline, head, cross-encoder, the ``large`` role
(Qwen2.5-Coder-1.5B on the ladder) **alone** (no hint), and the cascade at several thresholds:
pairs whose small verdict has calibrated confidence under ``t`` are judged by the large role,
the small verdict as a hint (:mod:`podium.experts.fact_check.judge`: one forward pass, each
label's probability is the mass of the first tokens a grammar over the three labels admits).
Every large-model judgement is appended to ``--log-dir/judge-<wording>.jsonl`` as it comes,
keyed by a digest of model and prompt: a restarted run pays nothing twice. Judge wordings are
compared with ``--cascade-part calibration`` (calibration claims, never the reported ones).
"""

from __future__ import annotations

import argparse
import asyncio
import hashlib
import json
import sys
import time
from dataclasses import asdict
from pathlib import Path
from typing import Any

import numpy as np
import torch

from podium.experts.fact_check import FactChecker, FactCheckGuardian, Source, load_verifier
from podium.experts.fact_check.augment import flip
from podium.experts.fact_check.evidence import gate
from podium.experts.fact_check.judge import WORDING
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
    data: Path,
    spec: str = "builtin",
    sets: tuple[str, ...] = ("calibration_claims", "test_claims"),
    rules: bool = True,
) -> dict[str, Any]:
    guardian = FactCheckGuardian(spec)
    guardian.checker.rules = rules
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


class ReplyLog:
    """Every large-model judgement appended to a JSONL file as it comes, keyed by a digest of
    the model and the prompt, so a restarted run pays for nothing twice."""

    def __init__(self, path: Path, judge: Any, model: str) -> None:
        self.path, self.judge, self.model = path, judge, model
        self.seen: dict[str, dict[str, Any]] = {}
        if path.is_file():
            for line in path.read_text(encoding="utf-8").splitlines():
                if line.strip():
                    rec = json.loads(line)
                    self.seen[rec["key"]] = rec
        self.new = 0

    def key(self, claim: str, evidence: str, hint: str | None = None) -> str:
        from podium.experts.fact_check.judge import messages

        prompt = json.dumps(messages(claim, evidence, hint, self.judge.wording))
        return hashlib.sha256(f"{self.model}\n{prompt}".encode()).hexdigest()[:24]

    def has(self, claim: str, evidence: str, hint: str | None = None) -> bool:
        return self.key(claim, evidence, hint) in self.seen

    def __call__(self, claim: str, evidence: str, hint: str | None = None) -> dict[str, Any]:
        key = self.key(claim, evidence, hint)
        if key not in self.seen:
            start = time.perf_counter()
            out = self.judge(claim, evidence, hint)
            rec = {
                "key": key,
                "model": self.model,
                "wording": self.judge.wording,
                "hint": hint,
                "label": LABELS[int(np.argmax(out.raw))],
                "probs": [round(p, 5) for p in out.raw],  # the raw label mass
                "new_tokens": out.new_tokens,
                "seconds": round(time.perf_counter() - start, 3),
            }
            with self.path.open("a", encoding="utf-8") as f:
                f.write(json.dumps(rec) + "\n")
            self.seen[key] = rec
            self.new += 1
        return self.seen[key]


def subset(pairs: Any, n_claims: int, seed: int = 0) -> Any:
    """All pairs of the first ``n_claims`` of a seeded permutation of the claims (a prefix, so
    a larger subset contains a smaller one)."""
    keys = sorted(set(pairs.groups))
    chosen = set(np.random.default_rng(seed).permutation(keys)[:n_claims].tolist())
    return pairs.take([i for i, g in enumerate(pairs.groups) if g in chosen])


def _gated(pairs: Any, pred: np.ndarray) -> np.ndarray:
    """Decisions after the evidence gate: a sentence that does not name the claim's numbers
    and names may not decide SUPPORTS / REFUTES (``evidence.gate``)."""
    return np.array(
        [
            gate(c, [e], pred[i : i + 1])[0]
            for i, (c, e) in enumerate(zip(pairs.claims, pairs.evidences, strict=True))
        ]
    )


def cascade(
    data: Path,
    n_claims: int,
    wordings: tuple[str, ...],
    thresholds: tuple[float, ...],
    log_dir: Path,
    part: str = "test",
    small: tuple[str, ...] = ("builtin", "cross"),
    hint_from: tuple[str, ...] = ("builtin",),
    n_cal: int = 30,
    judged_only: bool = False,
) -> dict[str, Any]:
    """On a fixed-seed subset of claims (all their pairs): majority, frozen baseline, the small
    verifiers, the ``large`` role alone (no hint) and the cascade (the large role judges the
    pairs whose small verdict's calibrated confidence is under ``t``, with that verdict as a
    hint). ``part="calibration"`` runs on calibration claims (where a wording is chosen)."""
    from podium.experts.fact_check.judge import RAW, Calibration, LargeJudge
    from podium.models.provider import ModelProvider
    from podium.models.roles import default_roles

    _, cal, test = three_way_split(load_pairs(data), 0, 0.15)
    train, _ = split_claims(load_pairs(data), 0)
    pool = test if part == "test" else cal
    sub = subset(pool, n_claims)
    claims = load_claim_labels(data)
    verdicts: dict[str, tuple[np.ndarray, np.ndarray]] = {}
    for spec in small:
        verifier = load_verifier(spec)
        seen = getattr(verifier, "trained_claims", frozenset())
        assert not seen & set(sub.groups), f"{spec} was trained on these claims"
        probs = verifier.predict(sub.claims, sub.evidences)
        verdicts[spec] = (probs, verifier.decide(probs))
    provider = ModelProvider(default_roles())
    model = provider.label(role="large")
    chat = provider.base_chat(role="large")
    log_dir.mkdir(parents=True, exist_ok=True)
    logs = {
        w: ReplyLog(log_dir / f"judge-{w}.jsonl", LargeJudge(chat, w, RAW), model) for w in wordings
    }
    if judged_only:  # the claims whose every judgement is already in the logs
        missing = {
            g
            for i, (c, e, g) in enumerate(zip(sub.claims, sub.evidences, sub.groups, strict=True))
            for log in logs.values()
            for hint in (None, *(LABELS[int(verdicts[h][1][i])] for h in hint_from))
            if not log.has(c, e, hint)
        }
        keep = [i for i, g in enumerate(sub.groups) if g not in missing]
        sub = sub.take(keep)
        verdicts = {k: (p[keep], d[keep]) for k, (p, d) in verdicts.items()}
    y = sub.labels
    out: dict[str, Any] = {"part": part, "claims": len(set(sub.groups)), "pairs": len(sub)}
    out["large"] = model
    rows = out["rows"] = []
    prior = np.bincount(train.labels, minlength=3) / len(train.labels)
    rows.append(
        row("majority class (NEI)", y, np.tile(prior, (len(y), 1)), np.full(len(y), 2), sub, claims)
    )
    if part == "test":
        rows.append(frozen_baseline(train, sub, claims))
    for spec in small:
        probs, pred = verdicts[spec]
        name = VERIFIERS.get(spec, spec)
        rows.append(row(name, y, probs, pred, sub, claims))
        rows.append(row(f"{name} + evidence gate", y, probs, _gated(sub, pred), sub, claims))
    cal_sub = subset(cal, n_cal)
    out["calibration_claims"] = len(set(cal_sub.groups))
    out["calibration"] = {}
    for wording in wordings:
        log = logs[wording]
        # The judge's label mass is calibrated on calibration claims (never the reported ones).
        pairs_cal = zip(cal_sub.claims, cal_sub.evidences, strict=True)
        cal_raw = np.array([log(c, e)["probs"] for c, e in pairs_cal])
        fitted = Calibration.fit(cal_raw, cal_sub.labels)
        out["calibration"][wording] = asdict(fitted)
        alone = []
        hinted: dict[str, list[dict[str, Any]]] = {s: [] for s in hint_from}
        for i, (c, e) in enumerate(zip(sub.claims, sub.evidences, strict=True)):
            alone.append(log(c, e))
            for spec in hint_from:
                hinted[spec].append(log(c, e, LABELS[int(verdicts[spec][1][i])]))
            if (i + 1) % 50 == 0:
                print(f"[{wording}] {i + 1}/{len(sub)} pairs, {log.new} new calls", file=sys.stderr)
        raw = np.array([r["probs"] for r in alone])
        for how, calib in (("raw", RAW), ("calibrated", fitted)):
            lp = calib.probs(raw)
            big = row(f"{model} alone ({wording}, {how})", y, lp, calib.decide(lp), sub, claims)
            big["s_per_call"] = round(float(np.mean([r["seconds"] for r in alone])), 2)
            big["large_calls_per_claim"] = round(len(sub) / len(set(sub.groups)), 2)
            rows.append(big)
            gated = _gated(sub, calib.decide(lp))
            rows.append(row(f"{big['name']} + evidence gate", y, lp, gated, sub, claims))
        for spec in hint_from:
            probs, pred = verdicts[spec]
            conf = probs[np.arange(len(pred)), pred]
            arms = (
                ("raw", RAW, hinted[spec]),
                ("calibrated", fitted, hinted[spec]),
                ("calibrated, no hint", fitted, alone),  # the alone replies, read as a cascade
            )
            for how, calib, replies in arms:
                hp = calib.probs(np.array([r["probs"] for r in replies]))
                secs = np.array([r["seconds"] for r in replies])
                for t in thresholds:
                    up = conf < t
                    name = f"cascade {VERIFIERS.get(spec, spec)} -> {wording} {how}, t={t:g}"
                    mixed = np.where(up[:, None], hp, probs)
                    decided = np.where(up, calib.decide(hp), pred)
                    r = row(name, y, mixed, decided, sub, claims)
                    r["escalated"] = round(float(up.mean()), 4)
                    r["large_calls_per_claim"] = round(float(up.sum()) / len(set(sub.groups)), 2)
                    r["s_per_call"] = round(float(secs[up].mean()), 2) if up.any() else 0.0
                    rows.append(r)
                    g = row(f"{name} + evidence gate", y, mixed, _gated(sub, decided), sub, claims)
                    g["large_calls_per_claim"] = r["large_calls_per_claim"]
                    rows.append(g)
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data", type=Path, default=ROOT.parent / "shared/data/fact_check")
    parser.add_argument("--claims", type=int, default=40, help="claims for the speed test")
    parser.add_argument("--only", default="quality,speed,guard")
    parser.add_argument(
        "--compare-rules", action="store_true", help="guard: also run it without the rules"
    )
    parser.add_argument(
        "--verifiers", default="builtin,cross", help="load_verifier specs for the quality table"
    )
    parser.add_argument("--guard-verifier", default="builtin", help="the guardian's verifier")
    parser.add_argument("--guard-sets", default="calibration_claims,test_claims")
    parser.add_argument("--no-baselines", action="store_true", help="skip the frozen LR")
    parser.add_argument("--cascade-claims", type=int, default=60, help="cascade: claims judged")
    parser.add_argument(
        "--calibration-claims",
        type=int,
        default=30,
        help="cascade: claims the judge is calibrated on",
    )
    parser.add_argument(
        "--judged-only",
        action="store_true",
        help="cascade: only the subset's claims whose every judgement is already logged",
    )
    parser.add_argument("--cascade-part", default="test", choices=("test", "calibration"))
    parser.add_argument("--wordings", default=WORDING, help="cascade: judge prompt wordings")
    parser.add_argument("--thresholds", default="0.4,0.5,0.6,0.7,0.8,1.01")
    parser.add_argument("--small", default="builtin,cross", help="cascade: small verifiers")
    parser.add_argument(
        "--hint-from", default="builtin", help="cascade: small verifiers escalating (or '')"
    )
    parser.add_argument("--log-dir", type=Path, default=ROOT / "bench-out" / "fact_check_judge")
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
        sets = tuple(args.guard_sets.split(","))
        result["guard"] = guard(args.data, args.guard_verifier, sets)
        if args.compare_rules:  # the same guardian without the restatement rules, same process
            result["guard_without_rules"] = guard(args.data, args.guard_verifier, sets, rules=False)
    if "cascade" in parts:
        result["cascade"] = cascade(
            args.data,
            args.cascade_claims,
            tuple(args.wordings.split(",")),
            tuple(float(t) for t in args.thresholds.split(",")),
            args.log_dir,
            args.cascade_part,
            tuple(v for v in args.small.split(",") if v),
            tuple(v for v in args.hint_from.split(",") if v),
            args.calibration_claims,
            args.judged_only,
        )
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
    if "guard" in result:
        print(json.dumps(result["guard"], indent=1))
    if "cascade" in result:
        c = result["cascade"]
        print(f"cascade: {c['part']} claims {c['claims']}, pairs {c['pairs']}, large {c['large']}")
        print(
            f"  judge calibration ({c['calibration_claims']} calibration claims): "
            f"{c['calibration']}"
        )
        for q in c["rows"]:
            f1 = " / ".join(f"{q['f1'][k]:.3f}" for k in LABELS)
            extra = "".join(
                f", {k} {q[k]}"
                for k in ("escalated", "large_calls_per_claim", "s_per_call")
                if k in q
            )
            print(
                f"  {q['name']}: bal acc {q['balanced_accuracy']:.3f}, macro-F1 "
                f"{q['macro_f1']:.3f}, F1 S/R/NEI {f1}, ECE {q['ece']:.3f}{extra}"
            )


if __name__ == "__main__":
    main()
