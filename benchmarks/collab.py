"""Run ``podium bench`` on every task's dev slice and print the BENCHMARKS.md tables.

    PYTHONPATH=$PWD .venv/bin/python benchmarks/collab.py [--large URI] [--out DIR]

Sample sizes are the bench defaults (fact_check 40, schema_match 79, nl2sql 6 with a subset of
strategies): the embedded model is slow on two shared cores, so keep runs short.
"""

from __future__ import annotations

import argparse
from pathlib import Path

from podium.bench import TASKS, run_bench
from podium.bench.commands import DEFAULT_N, markdown, write_outputs

DATA = Path(__file__).resolve().parents[2] / "shared" / "data"
PLAN = {
    "schema_match": ("schema_match", None),
    "fact_check": ("fact_check", None),
    "nl2sql": ("spider", ["small_only", "large_only", "cascade", "vote", "draft_finalise"]),
}


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--data", type=Path, default=DATA)
    parser.add_argument("--out", type=Path, default=Path("bench-out"))
    parser.add_argument("--small", default="local:smollm2")
    parser.add_argument("--large", default="local:smollm2")
    parser.add_argument("--tasks", default=",".join(PLAN))
    args = parser.parse_args()
    for name in args.tasks.split(","):
        folder, strategies = PLAN[name]
        task = TASKS[name](
            args.data / folder, n=DEFAULT_N[name], small=args.small, large=args.large
        )
        report = run_bench(task, strategies)
        write_outputs(report, args.out / name)
        print(f"### {name}\n\n{markdown(report)}")


if __name__ == "__main__":
    main()
