"""Schema matching on the GDC pairs: each matcher alone, the combination, and the scale test.

    python benchmarks/schema_match.py [--data ../shared/data/schema_match] [--json]

1. recall@GT (and top-1, F1) of every signal alone and of the combination, with the shipped
   weights (fit on these same pairs: in-sample) and leave-one-pair-out (LOPO: each pair scored
   by a model fit on the other four).
2. Scale: a 100-column source (columns of the five studies) against the 736-column GDC
   target, both resampled to 10,000 rows; wall time of each stage, and the full matcher's time
   as a ratio of the name-only matcher run in the same process.
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path

import pandas as pd

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from podium.experts.schema_match import signals as sigmod  # noqa: E402
from podium.experts.schema_match.combine import Combiner  # noqa: E402
from podium.experts.schema_match.evaluate import evaluate_pairs, find_pairs, load_pair  # noqa: E402
from podium.experts.schema_match.match import match_tables  # noqa: E402
from podium.experts.schema_match.tables import load_table  # noqa: E402
from podium.models.embeddings import load_embedder  # noqa: E402

DEFAULT_DATA = ROOT.parent / "shared" / "data" / "schema_match"


def accuracy(data: Path) -> dict:
    pairs = [load_pair(p) for p in find_pairs(data)]
    rows = {}
    for name in sigmod.SIGNALS:
        rows[name] = evaluate_pairs(pairs, matcher=name)
    rows["combined (shipped weights, in-sample)"] = evaluate_pairs(pairs, combiner=Combiner.load())
    rows["combined (LOPO)"] = evaluate_pairs(pairs, lopo=True)
    return rows


def scale(data: Path, rows: int = 10_000, source_columns: int = 100) -> dict:
    folders = find_pairs(data)
    parts = []
    for folder in folders:
        frame = pd.read_csv(folder / "source.csv", low_memory=False)
        frame.columns = [f"{folder.name.removeprefix('gdc-')}_{c}" for c in frame.columns]
        parts.append(frame.sample(n=rows, replace=True, random_state=0).reset_index(drop=True))
    source = pd.concat(parts, axis=1).iloc[:, :source_columns]
    target = pd.read_csv(folders[0] / "target.csv", low_memory=False)
    target = target.sample(n=rows, replace=True, random_state=0).reset_index(drop=True)
    assert source.shape == (rows, source_columns), source.shape
    load_embedder()  # the encoder loads once per process; not part of a match's cost
    sigmod._VECTORS.clear()

    t0 = time.perf_counter()
    src, tgt = load_table(source, name="source"), load_table(target, name="gdc")
    t_profile = time.perf_counter() - t0

    t0 = time.perf_counter()
    match_tables(src, tgt, embeddings=None)
    t_names = time.perf_counter() - t0

    sigmod._VECTORS.clear()
    t0 = time.perf_counter()
    full = match_tables(src, tgt)
    t_full = time.perf_counter() - t0

    t0 = time.perf_counter()
    match_tables(src, tgt)
    t_warm = time.perf_counter() - t0
    return {
        "source": list(source.shape),
        "target": list(target.shape),
        "profile_s": round(t_profile, 2),
        "match_without_embeddings_s": round(t_names, 2),
        "match_full_cold_s": round(t_full, 2),
        "match_full_warm_s": round(t_warm, 2),
        "full_vs_without_embeddings": round(t_full / t_names, 1),
        "accepted_matches": len(full.matches),
    }


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--data", type=Path, default=DEFAULT_DATA)
    parser.add_argument("--json", action="store_true")
    args = parser.parse_args()
    report = {"accuracy": accuracy(args.data), "scale": scale(args.data)}
    if args.json:
        print(json.dumps(report, indent=1))
        return
    print("| matcher | recall@GT | top-1 | precision | recall | F1 |")
    print("|---|---|---|---|---|---|")
    for name, r in report["accuracy"].items():
        print(
            f"| {name} | {r['recall_at_gt']:.3f} | {r['top1']:.3f} | {r['precision']:.3f} "
            f"| {r['recall']:.3f} | {r['f1']:.3f} |"
        )
    print()
    print("per pair (LOPO combined):")
    for p in report["accuracy"]["combined (LOPO)"]["pairs"]:
        print(f"  {p['pair']}: recall@GT {p['recall_at_gt']:.3f}  top-1 {p['top1']:.3f}")
    print()
    print(json.dumps(report["scale"], indent=1))


if __name__ == "__main__":
    main()
