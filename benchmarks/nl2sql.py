"""NL2SQL on the model ladder: every strategy and each model alone, on the same questions.

    python benchmarks/nl2sql.py [--data ../shared/data/spider] [--limit 100]
        [--strategies small_zero_shot,zero_shot,few_shot,vote,full]
        [--small URI] [--large URI] [--out results.json]

One pass over a sample stratified by database (``--limit``; all 493 without it): each
question's small drafts, large zero-shot, large few-shot and large finalisation are computed
once and each strategy is read off the calls it would make (see
``podium.experts.nl2sql.evaluate``). ``small_zero_shot`` is the small model alone and
``zero_shot`` the large model alone (the baselines, same prompt). Prints one markdown table:
execution accuracy, valid SQL, share of questions that called the large model, large calls
per question, median / p95 seconds per question — and the same seconds as ratios to the
large model alone in the same run, because the machine may be shared.
"""

from __future__ import annotations

import argparse
import json
from collections import Counter
from dataclasses import asdict
from pathlib import Path

from podium.experts.nl2sql.evaluate import (
    EVAL_STRATEGIES,
    EvalReport,
    ItemOutcome,
    evaluate,
    report,
)

ROOT = Path(__file__).resolve().parents[1]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data", type=Path, default=ROOT.parent / "shared/data/spider")
    parser.add_argument("--limit", type=int, default=None, help="stratified sample size")
    parser.add_argument("--strategies", default="small_zero_shot,zero_shot,few_shot,vote,full")
    parser.add_argument("--small", default=None, help="URI for the small role (drafts)")
    parser.add_argument("--large", default=None, help="URI for the large role")
    parser.add_argument("--out", type=Path, default=None, help="append every item as JSON lines")
    parser.add_argument("--summarise", type=Path, default=None, help="table of a --out file")
    args = parser.parse_args()
    if args.summarise:
        print_tables(summarise(args.summarise))
        return
    strategies = tuple(args.strategies.split(","))
    bad = sorted(set(strategies) - set(EVAL_STRATEGIES))
    if bad:
        parser.error(f"unknown strategies {bad}; choose from {', '.join(EVAL_STRATEGIES)}")

    def progress(o: ItemOutcome) -> None:
        mark = "ok " if o.correct else "bad"
        print(f"  {o.strategy:<16} {o.db_id:<22} {mark} {o.seconds:6.1f}s {o.decision}", flush=True)
        if args.out:
            with args.out.open("a", encoding="utf-8") as f:
                f.write(json.dumps(asdict(o)) + "\n")

    reports = evaluate(
        args.data,
        strategies=strategies,
        small=args.small,
        large=args.large,
        limit=args.limit,
        on_item=progress,
    )
    print_tables(reports)


def summarise(path: Path) -> list[EvalReport]:
    """Reports from the items a (possibly interrupted) run appended to ``--out``: only the
    questions every strategy finished are counted, so all rows cover the same questions."""
    items = [ItemOutcome(**json.loads(line)) for line in path.read_text().splitlines() if line]
    strategies = list(dict.fromkeys(o.strategy for o in items))
    done = Counter((o.db_id, o.question) for o in items)
    complete = {k for k, n in done.items() if n == len(strategies)}
    return [
        report(
            [o for o in items if o.strategy == s and (o.db_id, o.question) in complete],
            s,
            "see run",
            "see run",
            0,
        )
        for s in strategies
    ]


def print_tables(reports: list[EvalReport]) -> None:
    base = next((r for r in reports if r.strategy == "zero_shot"), reports[0])
    print(f"\nsmall = {reports[0].small}; large = {reports[0].large}; n = {reports[0].n}")
    print(
        "| strategy | EX | valid SQL | large called | large calls/q | median s/q | p95 s/q "
        f"| median vs {base.strategy} |"
    )
    print("|---|---|---|---|---|---|---|---|")
    for r in reports:
        ratio = r.median_s / base.median_s if base.median_s else float("nan")
        print(
            f"| {r.strategy} | {r.execution_accuracy:.3f} | {r.valid_sql_rate:.3f} | "
            f"{r.large_share:.0%} | {r.large_calls_per_question:.2f} | {r.median_s:.1f} | "
            f"{r.p95_s:.1f} | {ratio:.2f}× |"
        )
    print("\nper database (execution accuracy):")
    print("| database | n | " + " | ".join(r.strategy for r in reports) + " |")
    for db_id in reports[0].by_db:
        row = " | ".join(f"{r.by_db[db_id]['execution_accuracy']:.2f}" for r in reports)
        print(f"| {db_id} | {reports[0].by_db[db_id]['n']:.0f} | {row} |")
    for r in reports:
        print(f"\n{r.strategy} decisions: {r.decisions}")


if __name__ == "__main__":
    main()
