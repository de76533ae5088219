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
- overruled: plans the router changed (or, in advisory mode, disagreed with);
- routing (run): what a run uses — the model's plan for planners that plan reliably (the
  router is advisory for them), the corrected plan otherwise;
- p50/p95 seconds per plan (after one warm-up call).

With ``--cascade`` it also reports the planner cascade (podium/orchestrator/planner_cascade.py):
for every task the router's decision at the default thresholds (and a sweep of margins), the
share of tasks planned without the planner model, routing accuracy with the cascade (the
router's plan where it was sure, the model's otherwise) beside the model alone, and p50/p95
seconds per plan with and without it. ``--reuse FILE`` takes the model's per-task rows from an
earlier ``--json`` run instead of asking the model again (the router part is recomputed).
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


def load_tasks(limit: int | None = None, ids: str = "") -> list[dict[str, Any]]:
    rows = [json.loads(line) for line in DEV_SET.read_text().splitlines() if line.strip()]
    if ids:
        rows = [r for r in rows if r["id"] in ids.split(",")]
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

    names = ctx.planning_registry.names()
    schema = plan_schema(names, max_steps=ctx.limits.max_steps)
    start = time.perf_counter()
    try:
        proposed = await astructured(
            ctx.models,
            schema,
            planner_messages(task, ctx.planning_registry, sources=ctx.sources),
            role="planner",
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
                "plan": plan.model_dump(mode="json") if plan else None,
                **_as_run(ctx, plan, item),
            }
        )
        print(
            f"{uri} {item['id']}: {sorted(raw)} -> {sorted(checked)} need {sorted(need)}"
            f" ({seconds:.1f}s)",
            file=sys.stderr,
        )
    for p in podiums.values():
        p.close()
    return summarise(uri, rows)


def _as_run(ctx: Any, plan: Any, item: dict[str, Any]) -> dict[str, Any]:
    """What a run uses: the router's review of the model's plan (advisory for planners that
    plan reliably, with the corrections it is trusted to apply; corrected otherwise)."""
    if plan is None:
        return {"routed_run": False, "experts_run": [], "notes_run": []}
    reviewed = ctx.router.review(plan, item["task"])
    experts = {s.expert for s in reviewed.steps}
    return {
        "routed_run": experts == set(item["experts"]),
        "experts_run": sorted(experts),
        "notes_run": reviewed.notes,
    }


def rereview(result: dict[str, Any], tasks: list[dict[str, Any]], workspaces: Any) -> None:
    """Recompute what a run uses from the stored plans with today's router (``--reuse``)."""
    from podium import Podium
    from podium.orchestrator.plan import Plan

    if not all(r.get("plan") is not None or not r["valid"] for r in result["rows"]):
        from podium.models.catalog import plans_reliably  # rows from before plans were stored

        own = plans_reliably(result["model"])
        for r in result["rows"]:
            r.setdefault("routed_run", r["routed"] if own else r["routed_router"])
        return
    podiums = {
        name: Podium(
            planner=result["model"], workspace=ws, plugins=False, store=False, warmup=False
        )
        for name, ws in workspaces.items()
    }
    by_id = {t["id"]: t for t in tasks}
    for row in result["rows"]:
        if row["id"] not in by_id:
            continue
        item = by_id[row["id"]]
        plan = Plan.model_validate(row["plan"]) if row.get("plan") else None
        row.update(_as_run(podiums[item["workspace"]].context, plan, item))
    for p in podiums.values():
        p.close()
    result.update(summarise(result["model"], result["rows"]))


def summarise(uri: str, rows: list[dict[str, Any]]) -> dict[str, Any]:
    secs = sorted(r["seconds"] for r in rows)
    n = len(rows)
    return {
        "model": uri,
        "tasks": n,
        "valid": sum(r["valid"] for r in rows) / n,
        "routing_model": sum(r["routed"] for r in rows) / n,
        "routing_router": sum(r["routed_router"] for r in rows) / n,
        "overruled": sum(r["overruled"] for r in rows) / n,
        "routing_run": sum(r["routed_run"] for r in rows) / n,
        "p50_s": statistics.median(secs),
        "p95_s": secs[min(n - 1, round(0.95 * (n - 1)))],
        "rows": rows,
    }


def router_rows(tasks: list[dict[str, Any]], workspaces: dict[str, Any]) -> list[dict[str, Any]]:
    """The router's decision per task at the default thresholds, with its seconds."""
    from podium import Podium
    from podium.orchestrator.planner_cascade import router_decision
    from podium.orchestrator.semantic_router import split_clauses

    podiums = {
        name: Podium(workspace=ws, plugins=False, store=False, warmup=False)
        for name, ws in workspaces.items()
    }
    for p in podiums.values():
        p.context.router.routes(["warm-up"])  # build the router (embeds every expert) first
    rows = []
    for item in tasks:
        ctx = podiums[item["workspace"]].context
        start = time.perf_counter()
        decision = router_decision(ctx.router, item["task"], max_steps=ctx.limits.max_steps)
        seconds = time.perf_counter() - start
        routes = ctx.router.routes(split_clauses(item["task"]))
        experts = {r.expert for r in routes}
        rows.append(
            {
                "id": item["id"],
                "accepted": decision.accepted,
                "margin": min(r.margin for r in routes),
                "score": min(r.score for r in routes),
                "refers_back": "refers to another request" in decision.reason,
                "router_right": experts == set(item["experts"]),
                "seconds": seconds,
                "reason": decision.reason,
            }
        )
    for p in podiums.values():
        p.close()
    return rows


def cascade_summary(model: dict[str, Any], routed: list[dict[str, Any]]) -> dict[str, Any]:
    """Routing and latency of the cascade over ``model``'s per-task results."""
    from podium.orchestrator.planner_cascade import CascadeSettings

    by_id = {r["id"]: r for r in model["rows"]}
    right, secs = [], []
    for r in routed:
        m = by_id[r["id"]]
        right.append(r["router_right"] if r["accepted"] else m["routed_run"])
        secs.append(r["seconds"] + (0.0 if r["accepted"] else m["seconds"]))
    n = len(routed)
    floor = CascadeSettings().min_score
    sweep = {}
    for margin in (0.1, 0.15, 0.2, 0.25, 0.3, 0.35, 0.4):
        took = [
            r
            for r in routed
            if r["margin"] >= margin and r["score"] >= floor and not r["refers_back"]
        ]
        sweep[margin] = {
            "accepted": len(took) / n,
            "router_wrong": sum(not r["router_right"] for r in took),
            "routing": sum(
                (r["router_right"] if r in took else by_id[r["id"]]["routed_run"]) for r in routed
            )
            / n,
        }
    secs.sort()
    return {
        "model": model["model"],
        "without_model": sum(r["accepted"] for r in routed) / n,
        "routing_model_alone": model["routing_run"],
        "routing_cascade": sum(right) / n,
        "p50_s": statistics.median(secs),
        "p95_s": secs[min(n - 1, round(0.95 * (n - 1)))],
        "p50_s_model_alone": model["p50_s"],
        "p95_s_model_alone": model["p95_s"],
        "router_ms_p50": 1000 * statistics.median(r["seconds"] for r in routed),
        "sweep": sweep,
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--models", default=DEFAULT_MODELS)
    parser.add_argument("--limit", type=int, default=None)
    parser.add_argument("--ids", default="", help="Only these task ids (comma-separated).")
    parser.add_argument("--json", action="store_true")
    parser.add_argument("--cascade", action="store_true", help="Also report the cascade.")
    parser.add_argument("--reuse", default="", help="Model rows from an earlier --json run.")
    args = parser.parse_args()
    tasks = load_tasks(args.limit, args.ids)
    with tempfile.TemporaryDirectory() as tmp:
        workspaces = _workspaces(Path(tmp))
        if args.reuse:
            results = json.loads(Path(args.reuse).read_text())
            results = [r for r in results if "rows" in r]  # model rows, not cascade summaries
            for result in results:
                rereview(result, tasks, workspaces)
        else:
            results = [run_model(uri, tasks, workspaces) for uri in args.models.split(",")]
        routed = router_rows(tasks, workspaces) if args.cascade else []
    cascades = [cascade_summary(r, routed) for r in results] if routed else []
    if args.json:
        print(json.dumps(results + cascades, indent=1))
        return
    print(
        "| planner | tasks | valid plan | routing (model) | routing (+ router) | router changed "
        "| routing (run) | p50 s | p95 s |"
    )
    print("|---|---|---|---|---|---|---|---|---|")
    for r in results:
        print(
            f"| {r['model']} | {r['tasks']} | {r['valid']:.2f} | {r['routing_model']:.2f} | "
            f"{r['routing_router']:.2f} | {r['overruled']:.2f} | {r['routing_run']:.2f} | "
            f"{r['p50_s']:.1f} | "
            f"{r['p95_s']:.1f} |"
        )
    if not cascades:
        return
    print(
        "\n| planner | planned without it | routing alone | routing with cascade "
        "| p50 s alone | p50 s cascade | p95 s alone | p95 s cascade | router ms p50 |"
    )
    print("|---|---|---|---|---|---|---|---|---|")
    for c in cascades:
        print(
            f"| {c['model']} | {c['without_model']:.2f} | {c['routing_model_alone']:.2f} | "
            f"{c['routing_cascade']:.2f} | {c['p50_s_model_alone']:.1f} | {c['p50_s']:.1f} | "
            f"{c['p95_s_model_alone']:.1f} | {c['p95_s']:.1f} | {c['router_ms_p50']:.0f} |"
        )
    print("\nmargin sweep (router accepts at margin >= m, score >= 0.45, no back-reference):")
    for c in cascades:
        for m, row in c["sweep"].items():
            print(
                f"  m={m}: accepted {row['accepted']:.2f}, router wrong on {row['router_wrong']}, "
                f"routing with {c['model']} {row['routing']:.2f}"
            )


if __name__ == "__main__":
    main()
