"""NL2SQL execution accuracy on the Spider slice, strategy by strategy, on the same sample.

    python benchmarks/nl2sql.py [--data ../shared/data/spider] [--limit 100] [--drafts 5]
                                [--large URI] [--json]

Scores ``single`` (one greedy draft), ``vote`` (k drafts, execution-guided vote) and
``vote+repair`` (plus a repair round with the errors/results fed back; to the large model
when ``--large`` is given) with the embedded models, from one pass: the cheaper strategies
are read off the candidates of the widest one (draft 0 is greedy, the vote precedes repair),
so each question is decoded once. Prints one table. Speed is given as
a ratio against the single-draft latency measured in the same process.
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path

from podium.experts.nl2sql.evaluate import ItemOutcome, evaluate_strategies

ROOT = Path(__file__).resolve().parents[1]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data", type=Path, default=ROOT.parent / "shared/data/spider")
    parser.add_argument("--limit", type=int, default=100)
    parser.add_argument("--drafts", type=int, default=5)
    parser.add_argument("--large", default=None)
    parser.add_argument("--strategies", default="single,vote,vote+repair")
    parser.add_argument("--json", action="store_true")
    args = parser.parse_args()

    def progress(o: ItemOutcome) -> None:
        print(f"  {o.db_id:<26} {'ok ' if o.correct else 'bad'} {o.seconds:6.1f}s", flush=True)

    reports = evaluate_strategies(
        args.data,
        strategies=tuple(args.strategies.split(",")),
        drafts=args.drafts,
        large=args.large,
        limit=args.limit,
        on_item=progress,
    )
    if args.json:
        print(json.dumps([r.as_dict() for r in reports], indent=2, default=str))
        return
    base = reports[0].mean_latency_s or 1.0
    print("| strategy | n | execution accuracy | valid SQL | candidates | repaired | latency |")
    print("|---|---|---|---|---|---|---|")
    for r in reports:
        print(
            f"| {r.strategy} | {r.n} | {r.execution_accuracy:.1%} | {r.valid_sql_rate:.1%} | "
            f"{r.mean_candidates:.1f} | {r.repair_rate:.0%} | {r.mean_latency_s:.1f} s "
            f"({r.mean_latency_s / base:.1f}×) |"
        )
    print("\nper database (execution accuracy):")
    for db_id in reports[0].by_db:
        row = " | ".join(f"{r.by_db[db_id]['execution_accuracy']:.2f}" for r in reports)
        print(f"| {db_id} | {reports[0].by_db[db_id]['n']:.0f} | {row} |")


if __name__ == "__main__":
    main()
