"""The ``plan`` node: the planner model proposes a typed plan, validation and the semantic
router check it, and a bad plan is re-asked with its problems before failing clearly."""

from __future__ import annotations

import asyncio
import json
from collections.abc import Sequence
from typing import Any

from langchain_core.messages import AIMessage, BaseMessage, HumanMessage, SystemMessage
from langgraph.runtime import Runtime
from pydantic import ValidationError

from podium.errors import ModelUnavailable, PlanError
from podium.experts.base import Cost
from podium.experts.registry import ExpertRegistry
from podium.models.structured import astructured
from podium.models.usage import metered

from .context import PodiumContext
from .events import PlanReady, PlanRetry, emit
from .plan import Plan, Step, plan_schema, validate_plan
from .planner_cascade import RouterDecision, router_decision
from .state import RunState, ledger_entry

SYSTEM_PROMPT = """You are the planner of Podium. Break the user's task into the fewest steps.
Each step gives ONE expert ONE request, written in plain words taken from the task.
For each request pick the expert whose description fits it; use only the experts the task needs.
Use depends_on only when a step needs the result of an earlier step, and then write {{s1}}
in its input where that result belongs. Independent steps must not depend on each other.

Experts:
{experts}
{sources}
Reply with the plan as JSON."""

# One single-step example per expert (up to this many experts), then one compound example:
# a planner that has seen each expert used once routes to all of them, not only to the two
# in the compound example (measured with benchmarks/planning.py).
MAX_SINGLE_SHOTS = 6


def planner_messages(
    task: str,
    registry: ExpertRegistry,
    history: Sequence[BaseMessage] | None = None,
    sources: str = "",
) -> list[BaseMessage]:
    """System prompt with the expert cards and the workspace's sources, few-shot examples
    built from the experts' own examples, earlier conversation turns, then the task.

    Everything before the task is the same for every task of a workspace, so llama.cpp
    reuses its evaluated prefix from one plan to the next."""
    cards = "\n".join(f"- {e.name}: {e.description}" for e in registry)
    where = f"\nThis workspace has:\n{sources}\n" if sources else ""
    messages: list[BaseMessage] = [
        SystemMessage(SYSTEM_PROMPT.format(experts=cards, sources=where))
    ]
    for shot_task, shot_plan in few_shot_examples(registry):
        messages.append(HumanMessage(shot_task))
        messages.append(AIMessage(json.dumps(shot_plan)))
    if history:
        turns = "\n".join(f"{m.type}: {str(m.content)[:300]}" for m in history[-6:])
        messages.append(SystemMessage(f"Earlier in this conversation:\n{turns}"))
    messages.append(HumanMessage(task))
    return messages


def few_shot_examples(registry: ExpertRegistry) -> list[tuple[str, dict[str, Any]]]:
    """One single-step example per expert that has examples, then one two-expert example.

    The examples are the experts' own, so a registered expert teaches the planner itself."""
    with_examples = [e for e in registry if e.examples]
    shots: list[tuple[str, dict[str, Any]]] = [
        (e.examples[0], _plan([(e.name, e.examples[0])])) for e in with_examples[:MAX_SINGLE_SHOTS]
    ]
    if len(with_examples) >= 2:
        a, b = with_examples[0], with_examples[1]
        qa = a.examples[1 % len(a.examples)]
        qb = b.examples[1 % len(b.examples)]
        shots.append((_joined(qa, qb), _plan([(a.name, qa), (b.name, qb)])))
    # Two requests for the same expert are two steps of that expert, not a second expert
    # (without this example the 1.5B planner added retrieval or schema_match to such tasks).
    same = next((e for e in with_examples if len(e.examples) >= 3), None)
    if same is not None:
        q1, q2 = same.examples[1], same.examples[2]
        shots.append((_joined(q1, q2), _plan([(same.name, q1), (same.name, q2)])))
    return shots


def _joined(first: str, second: str) -> str:
    return f"{first.rstrip('?. ')}, and {second[0].lower()}{second[1:]}"


def _plan(steps: list[tuple[str, str]]) -> dict[str, Any]:
    return {
        "steps": [
            {"id": f"s{i}", "expert": name, "input": text, "depends_on": []}
            for i, (name, text) in enumerate(steps, 1)
        ]
    }


async def plan_node(state: RunState, runtime: Runtime[PodiumContext]) -> dict[str, Any]:
    ctx = runtime.context
    run_id, task = state["run_id"], state["task"]
    offered = ctx.planning_registry
    names = offered.names()
    if not names:
        raise PlanError("no experts are registered", hint="register one (podium experts list)")
    history = list(state.get("messages", [])[:-1])
    if ctx.semantic_check and ctx.cascade.enabled:
        # Embedding is CPU work: off the event loop, so a server keeps answering.
        decision = await asyncio.to_thread(_decide, ctx, task, bool(history))
        if decision.plan is not None:
            return _ready(
                run_id, decision.plan, _tiebreak_cost(decision), attempts=0, decision=decision
            )
    else:
        decision = RouterDecision(None, 0.0, "the planner cascade is off")
    schema = plan_schema(names, max_steps=ctx.limits.max_steps)
    messages = planner_messages(task, offered, history, ctx.sources)
    problems: list[str] = []
    cost = _tiebreak_cost(decision)  # a tie-breaker asked before escalating spent this
    for attempt in range(1, ctx.limits.plan_attempts + 1):
        proposed = None
        with metered() as (meter, timing):
            try:
                proposed = await astructured(ctx.models, schema, messages, role="planner")
            except ModelUnavailable:
                raise
            except ValidationError as exc:
                problems = [f"{_where(e)}: {e['msg']}" for e in exc.errors()[:5]]
            except ValueError as exc:
                problems = [f"the reply was not a plan: {str(exc)[:200]}"]
        cost = cost + Cost(
            model=", ".join(meter.models),
            input_tokens=meter.input_tokens,
            output_tokens=meter.output_tokens,
            ms=timing["ms"],
            large_calls=meter.large_calls,
        )
        if proposed is not None:
            plan = Plan(steps=[Step.model_validate(s) for s in proposed.model_dump()["steps"]])
            if ctx.semantic_check:
                # Embedding is CPU work: off the event loop, so a server keeps answering.
                plan = await asyncio.to_thread(_review, ctx, plan, task)
            problems = validate_plan(plan, names, max_steps=ctx.limits.max_steps)
            if not problems:
                return _ready(run_id, plan, cost, attempts=attempt, decision=decision)
            messages = [*messages, AIMessage(proposed.model_dump_json())]
        emit(PlanRetry(run_id=run_id, attempt=attempt, problems=problems))
        messages = [
            *messages,
            HumanMessage(
                "That plan is invalid: "
                + "; ".join(problems)
                + f". Use only these experts: {', '.join(names)}. Return a corrected plan."
            ),
        ]
    raise PlanError(
        f"the planner gave no valid plan in {ctx.limits.plan_attempts} attempts: "
        + "; ".join(problems),
        hint="try a stronger planner (--planner openai:... or ollama:...), or rephrase the task",
    )


def _ready(
    run_id: str, plan: Plan, cost: Cost, *, attempts: int, decision: RouterDecision
) -> dict[str, Any]:
    """Announce the plan with who made it and why, and record it in the ledger."""
    by_router = decision.plan is not None
    why = f"router: {decision.reason}" if by_router else f"planner model: {decision.reason}"
    dumped = plan.model_dump(mode="json")  # dumped once for the event and the state
    emit(
        PlanReady(
            run_id=run_id,
            plan=dumped,
            attempts=attempts,
            notes=plan.notes,
            cost=cost.model_dump(),
            planned_by="router" if by_router else "model",
            cascade=why,
        )
    )
    made = "planned by the semantic router" if by_router else f"{attempts} attempt(s)"
    return {
        "plan": dumped,
        "ledger": [ledger_entry("plan", cost, decision=f"{made}; {why}")],
    }


def _decide(ctx: PodiumContext, task: str, follow_up: bool) -> RouterDecision:
    return router_decision(
        ctx.router,
        task,
        max_steps=ctx.limits.max_steps,
        follow_up=follow_up,
        settings=ctx.cascade,
        tiebreaker=ctx.tiebreaker,
    )


def _tiebreak_cost(decision: RouterDecision) -> Cost:
    """What the cascade's tie-breaker spent on this task (nothing when it was not asked)."""
    if not decision.tiebreaks:
        return Cost()
    return Cost(
        model=decision.tiebreaks[0].model,
        input_tokens=sum(t.new_tokens for t in decision.tiebreaks),
        ms=sum(t.ms for t in decision.tiebreaks),
    )


def _where(error: Any) -> str:
    return ".".join(str(p) for p in error.get("loc", ())) or "plan"


def _review(ctx: PodiumContext, plan: Plan, task: str) -> Plan:
    """The semantic router's review (building the router on first use embeds every expert's
    description), run in a worker thread by :func:`plan_node`."""
    return ctx.router.review(plan, task)
