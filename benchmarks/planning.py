"""Planner routing accuracy and plan validity on the planning dev set, per planner model.

    python benchmarks/planning.py [--models local:smollm2,local:qwen2.5-coder-0.5b,...]
                                  [--limit N] [--json]

Data: ``benchmarks/data/planning_dev.jsonl`` — compound tasks over the demo workspace and the
Spider ``concert_singer`` database (read from ../shared/data), each with the experts it needs.
For every task the planner model is asked once, under the plan schema, exactly as the ``plan``
node asks it (same prompt, same few-shot examples). Reported per model:

- valid: the first reply is a plan that validates (known experts, no cycles, within limits);
- routing (model): the set of experts in the model's plan equals the needed set;
- routing (+router): the same after the semantic router's check (what a run uses);
- overruled: plans the router changed; p50/p95 seconds per plan (after one warm-up call).
"""

from __future__ import annotations

import argparse
import asyncio
import json
import statistics
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
DEV_SET = ROOT / "benchmarks" / "data" / "planning_dev.jsonl"
SHARED = ROOT.parent / "shared" / "data"
DEFAULT_MODELS = "local:smollm2,local:qwen2.5-coder-0.5b,local:qwen2.5-coder-1.5b"


def load_tasks(limit: int | None = None) -> list[dict[str, Any]]:
    rows = [json.loads(line) for line in DEV_SET.read_text().splitlines() if line.strip()]
    return rows[:limit] if limit else rows


def _workspaces(tmp: Path) -> dict[str, Any]:
    from podium.workspace import Workspace, demo_workspace

    db = SHARED / "spider" / "database" / "concert_singer" / "concert_singer.sqlite"
    spider = Workspace.init(tmp / "concert", databases=[f"sqlite:///{db}"], name="concert")
    return {"demo": demo_workspace(tmp / "home"), "spider:concert_singer": spider}


async def plan_once(ctx: Any, task: str) -> tuple[Any, list[str], float]:
    """One planner call as the plan node makes it: (plan or None, problems, seconds)."""
    from pydantic import ValidationError

    from podium.models.structured import astructured
    from podium.orchestrator.plan import Plan, Step, plan_schema, validate_plan
    from podium.orchestrator.planner import planner_messages

    names = ctx.registry.names()
    schema = plan_schema(names, max_steps=ctx.limits.max_steps)
    start = time.perf_counter()
    try:
        proposed = await astructured(
            ctx.models, schema, planner_messages(task, ctx.registry), role="planner"
        )
    except (ValidationError, ValueError) as exc:
        return None, [str(exc)[:200]], time.perf_counter() - start
    seconds = time.perf_counter() - start
    plan = Plan(steps=[Step.model_validate(s.model_dump()) for s in proposed.steps])
    return plan, validate_plan(plan, names, max_steps=ctx.limits.max_steps), seconds


def run_model(uri: str, tasks: list[dict[str, Any]], workspaces: dict[str, Any]) -> dict[str, Any]:
    from podium import Podium

    podiums = {
        name: Podium(planner=uri, workspace=ws, plugins=False, store=False, warmup=False)
        for name, ws in workspaces.items()
    }
    # Warm-up (model load, encoder import, first prompt), not counted.
    asyncio.run(plan_once(podiums["demo"].context, tasks[0]["task"]))
    rows = []
    for item in tasks:
        ctx = podiums[item["workspace"]].context
        plan, problems, seconds = asyncio.run(plan_once(ctx, item["task"]))
        need = set(item["experts"])
        raw = {s.expert for s in plan.steps} if plan else set()
        checked_plan = ctx.router.check(plan, item["task"]) if plan else None
        checked = {s.expert for s in checked_plan.steps} if checked_plan else set()
        rows.append(
            {
                "id": item["id"],
                "valid": plan is not None and not problems,
                "routed": raw == need,
                "routed_router": checked == need,
                "overruled": bool(checked_plan and checked_plan.notes),
                "seconds": seconds,
                "experts": sorted(raw),
                "experts_router": sorted(checked),
            }
        )
        print(
            f"{uri} {item['id']}: {sorted(raw)} -> {sorted(checked)} need {sorted(need)}"
            f" ({seconds:.1f}s)",
            file=sys.stderr,
        )
    for p in podiums.values():
        p.close()
    secs = sorted(r["seconds"] for r in rows)
    n = len(rows)
    return {
        "model": uri,
        "tasks": n,
        "valid": sum(r["valid"] for r in rows) / n,
        "routing_model": sum(r["routed"] for r in rows) / n,
        "routing_router": sum(r["routed_router"] for r in rows) / n,
        "overruled": sum(r["overruled"] for r in rows) / n,
        "p50_s": statistics.median(secs),
        "p95_s": secs[min(n - 1, round(0.95 * (n - 1)))],
        "rows": rows,
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--models", default=DEFAULT_MODELS)
    parser.add_argument("--limit", type=int, default=None)
    parser.add_argument("--json", action="store_true")
    args = parser.parse_args()
    tasks = load_tasks(args.limit)
    with tempfile.TemporaryDirectory() as tmp:
        workspaces = _workspaces(Path(tmp))
        results = [run_model(uri, tasks, workspaces) for uri in args.models.split(",")]
    if args.json:
        print(json.dumps(results, indent=1))
        return
    print(
        "| planner | tasks | valid plan | routing (model) | routing (+ router) | router changed "
        "| p50 s | p95 s |"
    )
    print("|---|---|---|---|---|---|---|---|")
    for r in results:
        print(
            f"| {r['model']} | {r['tasks']} | {r['valid']:.2f} | {r['routing_model']:.2f} | "
            f"{r['routing_router']:.2f} | {r['overruled']:.2f} | {r['p50_s']:.1f} | "
            f"{r['p95_s']:.1f} |"
        )


if __name__ == "__main__":
    main()
