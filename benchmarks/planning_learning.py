"""What learning from its own runs buys the planner cascade: a history half, then a test half.

    PODIUM_LLAMA_THREADS=1 python benchmarks/planning_learning.py [--json] [--out FILE]

The planning dev set (``benchmarks/data/planning_dev.jsonl``) is split within each workspace
into a history half and a test half (alternate tasks in the file's order). The history half
runs end to end through the default Podium (planner cascade, the 1.5B planner, the experts on
the ladder) with a scratch run store; Podium's own harvest keeps the step results its
decisions vouched for (an NL2SQL draft quorum, the large model agreeing) as verified examples.
No gold label is used for learning. ``podium learn --expert router`` then refreshes the
semantic router's examples (kept only if not worse on its held-back examples).

The test half is routed twice at the default cascade thresholds: before (nothing learned) and
after (the kept examples attached, as a new process would read them). Reported for both: the
share of test tasks planned without the planner model, routing accuracy of the cascade (the
router's plan where it was sure, the planner model's otherwise), and the tasks whose decision
changed. ``--bound`` instead routes the test half with the history half's *labelled* clauses as
extra router examples (tasks with one clause per needed expert): what perfect vouching could
give at most, with no runs (seconds). The planner model's plans for the test half are asked
once and used on both sides (greedy decoding: they do not depend on what was learned).
"""

from __future__ import annotations

import argparse
import asyncio
import json
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "benchmarks"))

from planning import _as_run, _workspaces, load_tasks, plan_once  # noqa: E402

PLANNER = "local:qwen2.5-coder-1.5b"


def halves(tasks: list[dict[str, Any]]) -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
    """Alternate tasks within each workspace: the first to history, the next to test."""
    seen: dict[str, int] = {}
    history, test = [], []
    for item in tasks:
        i = seen.get(item["workspace"], 0)
        seen[item["workspace"]] = i + 1
        (history if i % 2 == 0 else test).append(item)
    return history, test


def podiums(workspaces: dict[str, Any]) -> dict[str, Any]:
    """One Podium per workspace with its run store, so learned examples are attached."""
    from podium import Podium

    made = {
        name: Podium(workspace=ws, plugins=False, warmup=False) for name, ws in workspaces.items()
    }
    for p in made.values():
        p.context.router.routes(["warm-up"])  # build the router (embeds every expert) first
    return made


def decide(
    router: Any, item: dict[str, Any], max_steps: int, tiebreaker: Any = None
) -> dict[str, Any]:
    """The cascade's decision on one task, as the plan node takes it (with the small model's
    tie-breaker when given), and whether the router's own routing of its clauses is right."""
    from podium.orchestrator.planner_cascade import router_decision
    from podium.orchestrator.semantic_router import split_clauses

    decision = router_decision(router, item["task"], max_steps=max_steps, tiebreaker=tiebreaker)
    routes = router.routes(split_clauses(item["task"]))
    return {
        "id": item["id"],
        "accepted": decision.accepted,
        "confidence": round(decision.confidence, 3),
        "router_right": {r.expert for r in routes} == set(item["experts"]),
        "reason": decision.reason,
    }


def route(tasks: list[dict[str, Any]], made: dict[str, Any]) -> list[dict[str, Any]]:
    """The cascade's decision per task with each workspace's own router."""
    rows = []
    for item in tasks:
        ctx = made[item["workspace"]].context
        rows.append(decide(ctx.router, item, ctx.limits.max_steps, ctx.tiebreaker))
    return rows


def model_plans(tasks: list[dict[str, Any]], made: dict[str, Any]) -> dict[str, Any]:
    """The planner model's plan per task (asked once, without the cascade)."""
    plans = {}
    for item in tasks:
        plan, problems, seconds = asyncio.run(
            plan_once(made[item["workspace"]].context, item["task"])
        )
        plans[item["id"]] = (plan if not problems else None, seconds)
        print(f"planner {item['id']}: {seconds:.1f}s", file=sys.stderr)
    return plans


def cascade(
    tasks: list[dict[str, Any]],
    routed: list[dict[str, Any]],
    plans: dict[str, Any],
    made: dict[str, Any],
) -> dict[str, Any]:
    """Share planned without the model and routing accuracy of router-or-model."""
    right = []
    for item, r in zip(tasks, routed, strict=True):
        if r["accepted"]:
            right.append(r["router_right"])
        else:
            plan, _ = plans[item["id"]]
            right.append(_as_run(made[item["workspace"]].context, plan, item)["routed_run"])
    n = len(tasks)
    return {
        "without_model": sum(r["accepted"] for r in routed) / n,
        "routing": sum(right) / n,
        "rows": [{**r, "right": ok} for r, ok in zip(routed, right, strict=True)],
    }


def labelled_bound(
    history: list[dict[str, Any]], test: list[dict[str, Any]], workspaces: dict[str, Any]
) -> dict[str, Any]:
    """The test half routed with the history half's labelled clauses as router examples."""
    from podium import Podium
    from podium.orchestrator.context import routing_hints
    from podium.orchestrator.semantic_router import SemanticRouter, split_clauses

    rows = []
    for name, ws in workspaces.items():
        podium = Podium(workspace=ws, plugins=False, store=False, warmup=False)
        registry = podium.context.planning_registry
        labelled: dict[str, list[str]] = {}
        for item in history:
            clauses = split_clauses(item["task"])
            if item["workspace"] == name and len(clauses) == len(item["experts"]):
                for clause, expert in zip(clauses, item["experts"], strict=True):
                    labelled.setdefault(expert, []).append(clause)
        for side, extra in (("before", {}), ("labelled", labelled)):
            hints = {e.name: routing_hints(e, ws) + extra.get(e.name, []) for e in registry}
            router = SemanticRouter(podium.models.embedder(), registry, hints)
            for item in (t for t in test if t["workspace"] == name):
                row = decide(
                    router, item, podium.context.limits.max_steps, podium.context.tiebreaker
                )
                rows.append({"side": side, **row})
        podium.close()
    return {
        side: {
            "accepted": sum(r["accepted"] for r in rows if r["side"] == side) / len(test),
            "rows": [r for r in rows if r["side"] == side],
        }
        for side in ("before", "labelled")
    }


def run_history(tasks: list[dict[str, Any]], made: dict[str, Any]) -> list[dict[str, Any]]:
    """Each history task end to end; the harvest after each run records what was vouched for."""
    from podium.learning import ExampleStore

    rows = []
    for item in tasks:
        podium = made[item["workspace"]]
        before = len(ExampleStore(podium.store).examples())
        start = time.perf_counter()
        result = podium.run(item["task"])
        seconds = time.perf_counter() - start
        added = len(ExampleStore(podium.store).examples()) - before
        experts = sorted({s.expert for s in result.steps})
        rows.append(
            {"id": item["id"], "experts": experts, "examples_added": added, "seconds": seconds}
        )
        print(f"history {item['id']}: {experts} +{added} ({seconds:.0f}s)", file=sys.stderr)
    return rows


def learn_router(made: dict[str, Any], minimum: int | None) -> list[dict[str, Any]]:
    from podium.learning import ExampleStore, learn

    out = []
    for name, podium in made.items():
        examples = ExampleStore(podium.store).examples()
        [refresh] = learn(podium, "router", minimum=minimum)
        out.append(
            {
                "workspace": name,
                "minimum": minimum,
                "examples": len(examples),
                "by_expert": {
                    e: sum(x.expert == e for x in examples)
                    for e in sorted({x.expert for x in examples})
                },
                "status": refresh.status,
                "before": refresh.before,
                "after": refresh.after,
                "note": refresh.note,
            }
        )
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--json", action="store_true")
    parser.add_argument("--out", type=Path, help="also write the full result as JSON here")
    parser.add_argument(
        "--minimum",
        default="default,2",
        help="Fewest examples a refresh needs, as `podium learn --minimum` (default: the "
        "router's own, 5), one after-pass per value.",
    )
    parser.add_argument(
        "--bound", action="store_true", help="Only the labelled-examples bound (no model runs)."
    )
    args = parser.parse_args()
    history, test = halves(load_tasks())
    if args.bound:
        with tempfile.TemporaryDirectory() as tmp:
            bound = labelled_bound(history, test, _workspaces(Path(tmp)))
        if args.json:
            print(json.dumps(bound, indent=1))
        else:
            for side in ("before", "labelled"):
                print(f"{side}: planned without the planner model {bound[side]['accepted']:.2f}")
            for b, a in zip(bound["before"]["rows"], bound["labelled"]["rows"], strict=True):
                print(
                    f"{b['id']}: margin {b['confidence']} -> {a['confidence']}, "
                    f"accepted {a['accepted']}"
                )
        return
    with tempfile.TemporaryDirectory() as tmp:
        workspaces = _workspaces(Path(tmp))
        made = podiums(workspaces)
        plans = model_plans(test, made)
        before = cascade(test, route(test, made), plans, made)
        ran = run_history(history, made)
        refreshes, afters = [], {}
        for value in args.minimum.split(","):
            minimum = None if value == "default" else int(value)
            refreshes += learn_router(made, minimum)
            fresh = podiums(workspaces)  # a new process reads what was kept
            afters[value] = cascade(test, route(test, fresh), plans, fresh)
            for p in fresh.values():
                p.close()
        for p in made.values():
            p.close()
    result = {
        "planner": PLANNER,
        "history": len(history),
        "test": len(test),
        "history_runs": ran,
        "refreshes": refreshes,
        "before": before,
        "after": afters,
    }
    if args.out:
        args.out.write_text(json.dumps(result, indent=1))
    if args.json:
        print(json.dumps(result, indent=1))
        return
    for r in refreshes:
        print(
            f"{r['workspace']}: {r['examples']} verified examples {r['by_expert']}; router "
            f"refresh (minimum {r['minimum'] or 'default'}) {r['status']} "
            f"(held-back routing {r['before']} -> {r['after']})"
        )
    print(f"\n| test half (n = {len(test)}) | planned without the planner model | routing |")
    print("|---|---|---|")
    sides = [("before learning", before)]
    sides += [(f"after learning, minimum {m}", a) for m, a in afters.items()]
    for label, side in sides:
        print(f"| {label} | {side['without_model']:.2f} | {side['routing']:.2f} |")
    for m, after in afters.items():
        for b, a in zip(before["rows"], after["rows"], strict=True):
            if (b["accepted"], b["right"]) != (a["accepted"], a["right"]):
                print(
                    f"minimum {m}, {b['id']}: accepted {b['accepted']} -> {a['accepted']}, "
                    f"right {b['right']} -> {a['right']} (margin {b['confidence']} -> "
                    f"{a['confidence']})"
                )


if __name__ == "__main__":
    main()
