"""Where the seconds of a demo answer go: guards, plan, steps, first answer token, answer.

    python benchmarks/demo_latency.py [--task "..."] [--repeat 3] [--json]
                                      [--configs default,no-cascade,synth-0.5b]

Each configuration is a Podium over the shipped demo workspace with the default model ladder,
built once; one warm-up run (model loads, first prompts) is not counted, then ``--repeat``
runs of the task, median per phase. Phases come from the run's own event timestamps:

- guard in: run start to the last entry guardian verdict;
- plan: to the plan event (``planned_by`` says whether the router or the 1.5B model planned);
- steps: to the last step's finish;
- first token: to the first streamed answer token (or the answer, when no token streams);
- answer: to the answer event; total: to run_finished (exit guardians included).

Configurations: ``default`` (planner cascade on, synthesizer = the 1.5B model),
``no-cascade`` (the 1.5B model plans every task), ``synth-0.5b`` (the 0.5B model writes the
answer). Ratios are against ``default`` in the same process; absolute seconds depend on the
machine and its load (report them with the load average, which is printed).
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import sys
from typing import Any

DEMO_TASK = "How many orders were placed in 2024, and what is the return policy for damaged items?"
PHASES = ("guard_in", "plan", "steps", "first_token", "answer", "total")


def phases(events: list[dict[str, Any]]) -> dict[str, Any]:
    """Seconds from the run's start to each phase's end, from the events' timestamps."""
    t0 = events[0]["ts"]

    def at(kind: str, last: bool = False) -> float | None:
        hits = [e["ts"] for e in events if e["type"] == kind]
        if not hits:
            return None
        return (hits[-1] if last else hits[0]) - t0

    plan_at = at("plan") or 0.0
    verdicts_before_plan = [e["ts"] - t0 for e in events if e["type"] == "verdict"]
    guard_in = max((v for v in verdicts_before_plan if v <= plan_at), default=0.0)
    answer = at("answer") or 0.0
    plan_event = next((e for e in events if e["type"] == "plan"), {})
    return {
        "guard_in": guard_in,
        "plan": plan_at,
        "steps": at("step_finished", last=True) or plan_at,
        "first_token": at("token") or answer,
        "answer": answer,
        "total": at("run_finished") or 0.0,
        "planned_by": plan_event.get("planned_by", "model"),
    }


def build(config: str) -> Any:
    from podium import Podium
    from podium.models.catalog import QWEN_05B

    if config == "default":
        return Podium(store=False)
    if config == "no-cascade":
        return Podium(store=False, planner_cascade=False)
    if config == "synth-0.5b":
        return Podium(store=False, synthesizer=QWEN_05B.uri)
    raise SystemExit(f"unknown configuration {config!r}")


def measure(config: str, task: str, repeat: int) -> dict[str, Any]:
    podium = build(config)
    try:
        podium.run(task)  # warm-up: loads, first prompts
        runs = []
        for _ in range(repeat):
            result = podium.run(task)
            runs.append({**phases(result.events), "answer_text": result.answer})
            print(f"{config}: {runs[-1]}", file=sys.stderr)
    finally:
        podium.close()
    medians = {p: statistics.median(r[p] for r in runs) for p in PHASES}
    return {
        "config": config,
        "runs": len(runs),
        "planned_by": runs[-1]["planned_by"],
        "answer": runs[-1]["answer_text"],
        **{f"{p}_s": round(v, 2) for p, v in medians.items()},
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--task", default=DEMO_TASK)
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--configs", default="default,no-cascade,synth-0.5b")
    parser.add_argument("--json", action="store_true")
    args = parser.parse_args()
    load = os.getloadavg()[0]
    results = [measure(c, args.task, args.repeat) for c in args.configs.split(",")]
    base = results[0]
    for r in results:
        r["total_ratio"] = round(r["total_s"] / base["total_s"], 2) if base["total_s"] else None
    if args.json:
        print(json.dumps({"load_before": load, "results": results}, indent=1))
        return
    print(f"task: {args.task}\nload average before: {load:.2f}\n")
    print("| configuration | planned by | " + " | ".join(PHASES) + " | total vs first |")
    print("|---|---|" + "---|" * len(PHASES) + "---|")
    for r in results:
        cells = " | ".join(f"{r[p + '_s']:.1f}" for p in PHASES)
        print(f"| {r['config']} | {r['planned_by']} | {cells} | {r['total_ratio']:.2f}× |")
    for r in results:
        print(f"\n{r['config']}: {r['answer']}")


if __name__ == "__main__":
    main()
