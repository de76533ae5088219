"""Fact-check verifier: quality on the validation claims and throughput on this machine.

    python benchmarks/fact_check.py [--data ../shared/data/fact_check] [--json]

Quality: the shipped verifier on the Climate-FEVER pairs whose claims it was not trained on
(the validation split of ``podium train fact_check``). Throughput: claims/s through
``FactChecker.check`` (claim embedding, nearest evidence sentences, pair features, head) with
5 evidence sentences per claim, encoder warm; torch threads as set (2 cores here), measured
against the bare encoder on the same texts in the same process as the baseline.
"""

from __future__ import annotations

import argparse
import json
import time
from pathlib import Path

import torch

from podium.experts.fact_check import FactChecker, Source, load_verifier
from podium.experts.fact_check.train import evaluate, load_pairs
from podium.models.embeddings import load_embedder

ROOT = Path(__file__).resolve().parents[1]


def throughput(data: Path, n_claims: int = 100) -> dict[str, float]:
    pairs = load_pairs(data)
    by_claim: dict[str, list[str]] = {}
    for c, e in zip(pairs.claims, pairs.evidences, strict=True):
        by_claim.setdefault(c, []).append(e)
    claims = list(by_claim)[:n_claims]
    checker = FactChecker(load_verifier())
    checker.check(claims[:2], [Source(e) for e in by_claim[claims[0]]])  # warm up
    start = time.perf_counter()
    for claim in claims:
        checker.check([claim], [Source(e) for e in by_claim[claim]])
    checked = time.perf_counter() - start
    embedder = load_embedder("local:minilm")
    start = time.perf_counter()
    for claim in claims:
        embedder.encode([claim, *by_claim[claim]])
    encode_only = time.perf_counter() - start
    return {
        "claims": len(claims),
        "evidence_per_claim": 5,
        "torch_threads": torch.get_num_threads(),
        "claims_per_s": round(len(claims) / checked, 1),
        "encoder_only_claims_per_s": round(len(claims) / encode_only, 1),
        "ratio_vs_encoder_only": round(encode_only / checked, 2),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data", type=Path, default=ROOT.parent / "shared/data/fact_check")
    parser.add_argument("--json", action="store_true")
    args = parser.parse_args()
    result = {"quality": evaluate(args.data), "speed": throughput(args.data)}
    if args.json:
        print(json.dumps(result, indent=2))
        return
    q, s = result["quality"], result["speed"]
    print(
        f"validation pairs n={q['n']}: balanced acc {q['balanced_accuracy']}, macro-F1 "
        f"{q['macro_f1']}, accuracy {q['accuracy']}, ECE {q['ece']}"
    )
    print(f"per-class F1 {q['f1']}; claims: {q['claims']}")
    print(
        f"{s['claims_per_s']} claims/s with {s['evidence_per_claim']} evidence sentences each "
        f"({s['torch_threads']} threads; {s['ratio_vs_encoder_only']}x the bare encoder)"
    )


if __name__ == "__main__":
    main()
