"""Run ``podium bench`` on the four tasks and print the BENCHMARKS.md tables.

    PYTHONPATH=$PWD PODIUM_LLAMA_THREADS=1 .venv/bin/python benchmarks/collab.py \
        [--tasks fact_check,schema_match,retrieval,nl2sql] [--n 50] [--out DIR]

Small and large default to the machine's roles (the ladder: Qwen2.5-Coder-0.5B drafts,
Qwen2.5-Coder-1.5B is ``large``). The sizes below are what one session on two shared cores
could afford (the 1.5B model judges a claim and its five sentences in about 8 s on one
thread, so fact_check's 300 claims take about two hours over all strategies); pass ``--n``
for other sizes.
"""

from __future__ import annotations

import argparse
from pathlib import Path

from podium.bench import TASKS, run_bench
from podium.bench.outputs import markdown, write_outputs
from podium.models.roles import default_roles

DATA = Path(__file__).resolve().parents[2] / "shared" / "data"
ALL = ["small_only", "large_only", "cascade", "vote", "verify", "hints", "draft_finalise"]
# task: (data folder, test examples, calibration examples, other task options)
PLAN: dict[str, tuple[str, int, int, dict[str, int]]] = {
    # every labelled claim is usable once each is answered by heads trained without it
    "fact_check": ("fact_check", 300, 40, {"cross_fit": 5}),
    "schema_match": ("schema_match", 1000, 30, {}),  # every labelled column not calibrating
    "retrieval": ("retrieval", 253, 60, {}),  # every test-half claim
    "nl2sql": ("spider", 60, 30, {}),
}


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--data", type=Path, default=DATA)
    parser.add_argument("--out", type=Path, default=Path("bench-out"))
    parser.add_argument("--tasks", default=",".join(PLAN))
    parser.add_argument("--strategies", default=",".join(ALL))
    parser.add_argument("--n", type=int, default=None, help="Test examples (all tasks).")
    args = parser.parse_args()
    roles = default_roles()
    for name in args.tasks.split(","):
        folder, n, calibration, options = PLAN[name]
        task = TASKS[name](
            args.data / folder,
            n=args.n or n,
            calibration=calibration,
            small=roles["small"],
            large=roles["large"],
            **options,
        )
        out = args.out / name
        report = run_bench(
            task,
            args.strategies.split(","),
            partial=lambda so_far, out=out: write_outputs(so_far, out),
        )
        write_outputs(report, out)
        print(f"### {name}\n\n{markdown(report)}")


if __name__ == "__main__":
    main()
