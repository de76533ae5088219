"""Many runs at once in one process: throughput and memory stability.

    python benchmarks/concurrency.py [--rounds 8] [--runs 40] [--json]

Each round starts ``--runs`` runs concurrently (scripted planner, an async expert that waits
10 ms), and after every round we record the process's resident memory. Figures:

1. concurrency ratio: wall time of one round of N concurrent runs / wall time of one run alone,
   measured in the same process (1.0 would be perfect overlap; N would be no overlap at all);
2. memory drift: RSS after the last round / RSS after the first round (stable memory means a
   ratio near 1.0: runs leave nothing behind but their rows in the store).
"""

from __future__ import annotations

import argparse
import asyncio
import gc
import json
import resource
import statistics
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "tests"))

from scripted import RuleChatModel, echo, echo_twice

from podium import Podium
from podium.workspace import Workspace


def _rss_mb() -> float:
    """Current resident set size in MB (Linux /proc; falls back to the peak elsewhere)."""
    try:
        for line in Path("/proc/self/status").read_text().splitlines():
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) / 1024
    except OSError:
        pass
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


async def _round(podium: Podium, n: int, tag: str) -> float:
    start = time.perf_counter()
    results = await asyncio.gather(*(podium.arun(f"{tag} question {i}") for i in range(n)))
    elapsed = time.perf_counter() - start
    for i, r in enumerate(results):
        if r.status != "done" or f"{tag} question {i}" not in r.answer:
            raise SystemExit(f"cross-talk or failure in run {r.run_id}: {r.status} {r.answer!r}")
    return elapsed


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=8)
    parser.add_argument("--runs", type=int, default=40)
    parser.add_argument("--json", action="store_true")
    args = parser.parse_args()

    with tempfile.TemporaryDirectory() as tmp:
        ws = Workspace.init(Path(tmp) / "ws", guardians=False)
        podium = Podium(
            planner=RuleChatModel(rule=echo_twice),
            experts=[echo],
            workspace=ws,
            builtins=False,
            plugins=False,
            warmup=False,
            semantic_check=False,
        )

        async def drive() -> dict[str, object]:
            singles = [await _round(podium, 1, f"warm{i}") for i in range(5)]
            single = statistics.median(singles[1:])
            rounds, rss = [], []
            for r in range(args.rounds):
                rounds.append(await _round(podium, args.runs, f"r{r}"))
                gc.collect()
                rss.append(_rss_mb())
            return {
                "runs_per_round": args.runs,
                "rounds": args.rounds,
                "single_run_s": round(single, 4),
                "round_median_s": round(statistics.median(rounds), 4),
                "concurrency_ratio": round(statistics.median(rounds) / single, 2),
                "runs_per_s": round(args.runs / statistics.median(rounds), 1),
                "rss_first_round_mb": round(rss[0], 1),
                "rss_last_round_mb": round(rss[-1], 1),
                "memory_drift": round(rss[-1] / rss[0], 3),
            }

        figures = asyncio.run(drive())
    if args.json:
        print(json.dumps(figures, indent=2))
        return
    for key, value in figures.items():
        print(f"{key:>22}: {value}")


if __name__ == "__main__":
    main()
