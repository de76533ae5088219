"""Added latency of the guardians per run (``guard_in`` + ``guard_out``, without fact check).

    python benchmarks/guard_latency.py [--runs 40] [--json]

The same scripted run (planner and synthesizer answer instantly, one instant expert) is timed
with the workspace's guardians off and on, interleaved, in one process (machines here are
noisy, so the figure that travels is the ratio). Reported per run: the guardians' own time
(each stage's slowest guardian, as they run in parallel) and the run's wall time. Tasks vary
in length and some carry personal data, so Presidio and the classifier see realistic input.
Also reported: the guardians' start-up (loading their models, once per process: what
``podium serve`` and a first ``podium run`` pay now that ``podium init`` turns them on), with
the machine's 1-minute load average before the start-up and after the runs (a start-up
figure taken under load says little about a quiet machine).
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "tests"))

from scripted import RuleChatModel

from podium import Podium, expert
from podium.guardians.policy import GuardPolicy
from podium.workspace import Workspace

TASKS = [
    "How many orders were placed in 2024, and what is the return policy?",
    "What is the warranty on headphones bought in March?",
    "Email jane.doe@example.com the status of order 1043 and call +1 212-555-0199 if late.",
    "Summarise the shipping policy for international orders over $100 and list the "
    "carriers we use, with their delivery times and tracking options for each region.",
    "Which customer from Berlin spent the most last quarter?",
]


@expert
def lookup(text: str) -> str:
    """Looks up a fact and returns it."""
    return f"fact about {text}"


def _reply(messages: list[Any]) -> str:
    if str(messages[0].content).startswith("You are the planner"):
        return json.dumps({"steps": [{"id": "s1", "expert": "lookup", "input": "the task"}]})
    return "Here is the fact about the task you asked for."


def _podium(root: Path, guarded: bool) -> Podium:
    ws = Workspace.init(root)
    ws.config.guardians = GuardPolicy(enabled=guarded, budget_ms=60_000)
    return Podium(
        planner=RuleChatModel(rule=_reply),
        experts=[lookup],
        workspace=ws,
        builtins=False,
        plugins=False,
        warmup=False,
        semantic_check=False,
    )


def _guard_ms(events: list[dict[str, Any]]) -> float:
    by_stage: dict[str, float] = {}
    for e in events:
        if e["type"] == "verdict" and e["stage"] in ("in", "out"):
            by_stage[e["stage"]] = max(by_stage.get(e["stage"], 0.0), e["ms"])
    return sum(by_stage.values())


def _p(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(q * (len(ordered) - 1)))]


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--runs", type=int, default=40)
    parser.add_argument("--json", action="store_true")
    parser.add_argument(
        "--torch-threads", type=int, default=0, help="torch.set_num_threads (0: leave as is)"
    )
    args = parser.parse_args()
    if args.torch_threads:
        import torch

        torch.set_num_threads(args.torch_threads)
    with tempfile.TemporaryDirectory() as tmp:
        plain, guarded = _podium(Path(tmp) / "plain", False), _podium(Path(tmp) / "guarded", True)
        load_before = os.getloadavg()[0]
        start = time.perf_counter()
        guarded.guards.warm()
        startup_ms = (time.perf_counter() - start) * 1000
        for p in (plain, guarded):  # warm both paths (graph compile, store, models)
            p.run(TASKS[0])
        wall = {"off": [], "on": []}
        guard = []
        for i in range(args.runs):
            task = TASKS[i % len(TASKS)]
            for key, p in (("off", plain), ("on", guarded)):
                start = time.perf_counter()
                result = p.run(task)
                wall[key].append((time.perf_counter() - start) * 1000)
                if key == "on":
                    guard.append(_guard_ms(result.events))
    out = {
        "runs": args.runs,
        "startup_ms": round(startup_ms, 1),
        "load_before": round(load_before, 2),
        "load_after": round(os.getloadavg()[0], 2),
        "guard_ms_p50": round(statistics.median(guard), 1),
        "guard_ms_p95": round(_p(guard, 0.95), 1),
        "run_ms_p50_off": round(statistics.median(wall["off"]), 1),
        "run_ms_p50_on": round(statistics.median(wall["on"]), 1),
        "run_ms_p95_off": round(_p(wall["off"], 0.95), 1),
        "run_ms_p95_on": round(_p(wall["on"], 0.95), 1),
        "added_ms_p95": round(
            _p([b - a for a, b in zip(wall["off"], wall["on"], strict=True)], 0.95), 1
        ),
        "ratio_p50": round(statistics.median(wall["on"]) / statistics.median(wall["off"]), 2),
    }
    if args.json:
        print(json.dumps(out))
        return
    for k, v in out.items():
        print(f"{k:16s} {v}")


if __name__ == "__main__":
    main()
