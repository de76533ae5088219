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
for every task the router's decision at the default thresholds (and a sweep of margins), alone
and with the small model's tie-breaker on clauses close to two experts (and a sweep of its
threshold, with a leave-one-out check of fitting it), the share of tasks planned without the
planner model, routing accuracy with the cascade (the router's plan where it was sure, the
model's otherwise) beside the model alone, and mean/p50/p95 seconds per plan for each.
``PODIUM_SHARED_DATA`` points at the shared data folder when it is not beside the repository.
``--reuse FILE`` takes the model's per-task rows from an earlier ``--json`` run instead of
asking the model again (the router part is recomputed).
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import statistics
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
DEV_SET = ROOT / "benchmarks" / "data" / "planning_dev.jsonl"
# The shared data slices beside the repository (a git worktree elsewhere sets the variable,
# as the tests read it: without the database the concert_singer tasks lose their schema).
SHARED = Path(os.environ.get("PODIUM_SHARED_DATA", ROOT.parent / "shared" / "data"))
DEFAULT_MODELS = "local:smollm2,local:qwen2.5-coder-0.5b,local:qwen2.5-coder-1.5b"


def load_tasks(limit: int | None = None, ids: str = "") -> list[dict[str, Any]]:
    rows = [json.loads(line) for line in DEV_SET.read_text().splitlines() if line.strip()]
    if ids:
        rows = [r for r in rows if r["id"] in ids.split(",")]
    return rows[:limit] if limit else rows


def _workspaces(tmp: Path) -> dict[str, Any]:
    from podium.workspace import Workspace, demo_workspace

    db = SHARED / "spider" / "database" / "concert_singer" / "concert_singer.sqlite"
    if not db.is_file():
        sys.exit(f"{db} not found: set PODIUM_SHARED_DATA to the shared data folder")
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
    """The cascade's decision per task at the default thresholds, with its seconds: the router
    alone, and the router with the small model's tie-breaker (once at the default threshold
    and once at 0, which keeps every agreeing answer's probability for the sweep)."""
    from dataclasses import replace

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
        need = set(item["experts"])
        start = time.perf_counter()
        decision = router_decision(ctx.router, item["task"], max_steps=ctx.limits.max_steps)
        seconds = time.perf_counter() - start
        start = time.perf_counter()
        helped = router_decision(
            ctx.router,
            item["task"],
            max_steps=ctx.limits.max_steps,
            settings=ctx.cascade,
            tiebreaker=ctx.tiebreaker,
        )
        seconds_tb = time.perf_counter() - start
        any_p = router_decision(
            ctx.router,
            item["task"],
            max_steps=ctx.limits.max_steps,
            settings=replace(ctx.cascade, tiebreak_confidence=0.0),
            tiebreaker=ctx.tiebreaker,
        )
        routes = ctx.router.routes(split_clauses(item["task"]))
        experts = {r.expert for r in routes}
        rows.append(
            {
                "id": item["id"],
                "accepted": decision.accepted,
                "margin": min(r.margin for r in routes),
                "score": min(r.score for r in routes),
                "refers_back": "refers to another request" in decision.reason,
                "router_right": experts == need,
                "seconds": seconds,
                "reason": decision.reason,
                "accepted_tb": helped.accepted,
                "right_tb": bool(helped.plan and {s.expert for s in helped.plan.steps} == need),
                "seconds_tb": seconds_tb,
                "reason_tb": helped.reason,
                # the weakest agreeing tie-break when the tie-breaker alone let the task pass
                "tb_p": (
                    min(t.confidence for t in any_p.tiebreaks)
                    if any_p.accepted and any_p.tiebreaks
                    else None
                ),
                "tiebreaks": [
                    {
                        "clause": t.clause,
                        "options": t.options,
                        "choice": t.choice,
                        "p": round(t.confidence, 3),
                        "ms": round(t.ms),
                        "new_tokens": t.new_tokens,
                    }
                    for t in any_p.tiebreaks
                ],
            }
        )
        print(
            f"router {item['id']}: {decision.accepted} -> {helped.accepted} "
            f"({seconds_tb:.2f}s) {helped.reason[:100]}",
            file=sys.stderr,
        )
    for p in podiums.values():
        p.close()
    return rows


def tiebreak_sweep(routed: list[dict[str, Any]]) -> dict[str, Any]:
    """Share accepted and tasks routed wrong per tie-breaker threshold, and a leave-one-out
    check of fitting it: each task judged at the threshold fitted on the other 33."""
    grid = [round(0.5 + 0.05 * i, 2) for i in range(10)]

    def taken(rows: list[dict[str, Any]], t: float) -> list[dict[str, Any]]:
        return [r for r in rows if r["accepted"] or (r["tb_p"] is not None and r["tb_p"] >= t)]

    def fit(rows: list[dict[str, Any]]) -> float:
        return next(
            (t for t in grid if not any(not r["router_right"] for r in taken(rows, t))), 1.01
        )

    n = len(routed)
    sweep = {
        t: {
            "accepted": len(taken(routed, t)) / n,
            "router_wrong": sum(not r["router_right"] for r in taken(routed, t)),
        }
        for t in grid
    }
    loo_accepted, loo_wrong = 0, 0
    for i, r in enumerate(routed):
        t = fit(routed[:i] + routed[i + 1 :])
        if r in taken([r], t):
            loo_accepted += 1
            loo_wrong += not r["router_right"]
    deciding = [r["id"] for r in routed if r["tb_p"] is not None and not r["router_right"]]
    return {
        "sweep": sweep,
        "fitted": fit(routed),
        "wrong_agreeing": deciding,
        "loo_accepted": loo_accepted / n,
        "loo_wrong": loo_wrong,
    }


def cascade_summary(model: dict[str, Any], routed: list[dict[str, Any]]) -> dict[str, Any]:
    """Routing and latency of the cascade over ``model``'s per-task results, with and
    without the small model's tie-breaker."""
    from podium.orchestrator.planner_cascade import CascadeSettings

    by_id = {r["id"]: r for r in model["rows"]}
    right, secs, right_tb, secs_tb = [], [], [], []
    for r in routed:
        m = by_id[r["id"]]
        right.append(r["router_right"] if r["accepted"] else m["routed_run"])
        secs.append(r["seconds"] + (0.0 if r["accepted"] else m["seconds"]))
        right_tb.append(r["right_tb"] if r["accepted_tb"] else m["routed_run"])
        secs_tb.append(r["seconds_tb"] + (0.0 if r["accepted_tb"] else m["seconds"]))
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
    asked = [r["seconds_tb"] for r in routed if r["tiebreaks"]]
    return {
        "model": model["model"],
        "without_model": sum(r["accepted"] for r in routed) / n,
        "without_model_tb": sum(r["accepted_tb"] for r in routed) / n,
        "routing_model_alone": model["routing_run"],
        "routing_cascade": sum(right) / n,
        "routing_cascade_tb": sum(right_tb) / n,
        "mean_s": statistics.mean(secs),
        "mean_s_tb": statistics.mean(secs_tb),
        "mean_s_model_alone": statistics.mean(r["seconds"] for r in model["rows"]),
        "p50_s": statistics.median(secs),
        "p95_s": _p95(secs),
        "p50_s_tb": statistics.median(secs_tb),
        "p95_s_tb": _p95(secs_tb),
        "p50_s_model_alone": model["p50_s"],
        "p95_s_model_alone": model["p95_s"],
        "router_ms_p50": 1000 * statistics.median(r["seconds"] for r in routed),
        "tiebreak_asked": len(asked),
        "tiebreak_s_p50": statistics.median(asked) if asked else 0.0,
        "tiebreak_s_max": max(asked) if asked else 0.0,
        "sweep": sweep,
        "tiebreak": tiebreak_sweep(routed),
        "routed": routed,
    }


def _p95(values: list[float]) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(0.95 * (len(ordered) - 1)))]


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
    print("\n| planner | cascade | planned without it | routing | mean s | p50 s | p95 s |")
    print("|---|---|---|---|---|---|---|")
    for c in cascades:
        for label, share, routing, mean, p50, p95 in (
            (
                "model alone",
                0.0,
                c["routing_model_alone"],
                c["mean_s_model_alone"],
                c["p50_s_model_alone"],
                c["p95_s_model_alone"],
            ),
            (
                "router",
                c["without_model"],
                c["routing_cascade"],
                c["mean_s"],
                c["p50_s"],
                c["p95_s"],
            ),
            (
                "router + tie-breaker",
                c["without_model_tb"],
                c["routing_cascade_tb"],
                c["mean_s_tb"],
                c["p50_s_tb"],
                c["p95_s_tb"],
            ),
        ):
            print(
                f"| {c['model']} | {label} | {share:.2f} | {routing:.2f} | {mean:.1f} | "
                f"{p50:.1f} | {p95:.1f} |"
            )
        print(
            f"\nrouter ms p50 {c['router_ms_p50']:.0f}; tie-breaker asked on "
            f"{c['tiebreak_asked']} tasks, p50 {c['tiebreak_s_p50']:.2f} s, "
            f"max {c['tiebreak_s_max']:.2f} s"
        )
    print("\nmargin sweep (router accepts at margin >= m, score >= 0.45, no back-reference):")
    for c in cascades:
        for m, row in c["sweep"].items():
            print(
                f"  m={m}: accepted {row['accepted']:.2f}, router wrong on {row['router_wrong']}, "
                f"routing with {c['model']} {row['routing']:.2f}"
            )
    tb = cascades[0]["tiebreak"]
    print("\ntie-breaker sweep (accepted when it agrees with the router at p >= t):")
    for t, row in tb["sweep"].items():
        print(f"  t={t}: accepted {row['accepted']:.2f}, routed wrong {row['router_wrong']}")
    print(
        f"  fitted t = {tb['fitted']} (decided by {tb['wrong_agreeing']}); leave-one-out: "
        f"accepted {tb['loo_accepted']:.2f}, routed wrong {tb['loo_wrong']}"
    )


if __name__ == "__main__":
    main()
