"""``dispatch`` and ``step``: run every step whose dependencies are done, in parallel.

Fan-out is a value: :func:`next_steps` maps the state to ``Send`` payloads, one per ready step.
LangGraph runs them in one superstep and merges their results with the state's reducers, then
``dispatch`` runs again for the steps that became ready. A failed step is recorded with its
reason; steps that depend on it are recorded as skipped, and the rest carry on.
"""

from __future__ import annotations

import asyncio
from typing import Any

from langgraph.runtime import Runtime
from langgraph.types import Send

from podium.errors import PodiumError
from podium.experts.base import Cost, ExpertContext, ExpertResult
from podium.models.usage import metered

from .approval import asks_after, asks_before
from .budget import budget_problem
from .context import PodiumContext
from .events import ApprovalRequired, ExpertNote, StepFinished, StepStarted, emit
from .fallback import fallback_steps
from .guard import screen_step
from .plan import Plan, fill_references, state_plan, with_subject
from .policies import execute_step, parse_policy
from .policy_cards import policy_for
from .sources import with_database
from .state import (
    RunState,
    StepOutcome,
    StepTask,
    ledger_entry,
    outcome_from_result,
    result_from_outcome,
)
from .synthesizer import CONFIDENCE_FLOOR

DONE = "synthesize"
APPROVAL = "approval"


def dispatch_node(state: RunState, runtime: Runtime[PodiumContext]) -> dict[str, Any]:
    """Book-keeping between supersteps: stop when a budget is spent, skip what can no longer
    run, record rejections, and announce steps that wait for a person."""
    plan = state_plan(state["plan"])
    results = state.get("results", {})
    approvals = state.get("approvals", {})
    updates: dict[str, StepOutcome] = {}
    asks: dict[str, dict[str, Any]] = {}

    stop = state.get("stopped") or budget_problem(state, runtime.context.limits)
    if stop:
        for step in plan.steps:
            if step.id not in results:
                updates[step.id] = _unrun(step, "skipped", f"not run: {stop}")
                emit(
                    StepFinished(
                        run_id=state["run_id"],
                        step_id=step.id,
                        expert=step.expert,
                        status="skipped",
                        error=updates[step.id]["error"],
                    )
                )
        return {"results": updates, "stopped": stop} if updates else {"stopped": stop}

    for step in plan.steps:  # rejected before running: the step fails, its dependents skip
        decision = approvals.get(step.id, {})
        if step.id not in results and decision.get("approved") is False:
            updates[step.id] = _unrun(
                step, "failed", f"rejected before running: {decision.get('note') or 'not approved'}"
            )
            emit(
                StepFinished(
                    run_id=state["run_id"],
                    step_id=step.id,
                    expert=step.expert,
                    status="failed",
                    error=updates[step.id]["error"],
                )
            )

    changed = True
    while changed:
        changed = False
        for step in plan.steps:
            if step.id in results or step.id in updates:
                continue
            blocked = [
                d
                for d in step.depends_on
                if (outcome := results.get(d) or updates.get(d)) is not None
                and outcome["status"] in ("failed", "skipped")
            ]
            if blocked:
                updates[step.id] = _unrun(
                    step, "skipped", f"not run: step {', '.join(blocked)} did not succeed"
                )
                emit(
                    StepFinished(
                        run_id=state["run_id"],
                        step_id=step.id,
                        expert=step.expert,
                        status="skipped",
                        error=updates[step.id]["error"],
                    )
                )
                changed = True

    plan, fallbacks = _with_fallbacks(state, plan, {**results, **updates}, runtime.context)
    done = [sid for sid, r in results.items() if r["status"] == "ok"]
    for step in plan.ready(done=done, started=[*results, *updates]):
        reason = asks_before(step, runtime.context.workspace)
        if reason and step.id not in approvals:
            asks[step.id] = {
                "asked": True,
                "when": "before",
                "expert": step.expert,
                "input": step.input,
                "reason": reason,
            }
    for sid, outcome in results.items():
        if outcome["status"] == "awaiting_approval" and sid not in approvals:
            asks[sid] = {
                "asked": True,
                "when": "after",
                "expert": outcome["expert"],
                "input": outcome["input"],
                "reason": outcome["details"].get("approval_reason", ""),
            }
    for sid, ask in asks.items():
        emit(
            ApprovalRequired(
                run_id=state["run_id"],
                step_id=sid,
                expert=ask["expert"],
                input=ask["input"],
                when=ask["when"],
                reason=ask["reason"],
                output=results[sid]["output"] if sid in results else None,
            )
        )
    update: dict[str, Any] = {}
    if fallbacks:
        update["plan"], update["fallbacks"] = plan.model_dump(mode="json"), fallbacks
    if updates:
        update["results"] = updates
    if asks:
        update["approvals"] = asks
    return update


def _with_fallbacks(
    state: RunState, plan: Plan, results: dict[str, StepOutcome], ctx: PodiumContext
) -> tuple[Plan, dict[str, str]]:
    """``plan`` with a step for each request a step could not answer and another expert
    might (:mod:`.fallback`), and which step each new one stands in for."""
    if not ctx.semantic_check or not any(r["status"] != "skipped" for r in results.values()):
        return plan, {}
    found = fallback_steps(
        plan,
        results,
        state.get("fallbacks", {}),
        lambda: ctx.router,
        min_confidence=CONFIDENCE_FLOOR,
        max_steps=ctx.limits.max_steps,
    )
    if not found:
        return plan, {}
    extended = plan.model_copy(
        update={
            "steps": [*plan.steps, *(f.step for f in found)],
            "notes": [*plan.notes, *(f"{f.step.id}: {f.reason}" for f in found)],
        }
    )
    shown = extended.model_dump(mode="json")
    for f in found:  # the plan rides along, so a stored run shows the step it gained
        emit(
            ExpertNote(
                run_id=state["run_id"],
                step_id=f.step.id,
                expert=f.step.expert,
                kind="fallback",
                data={"for": f.replaces, "reason": f.reason, "plan": shown},
            )
        )
    return extended, {f.step.id: f.replaces for f in found}


def _unrun(step: Any, status: str, error: str) -> StepOutcome:
    return StepOutcome(
        step_id=step.id,
        expert=step.expert,
        input=step.input,
        status=status,  # type: ignore[typeddict-item]
        output=None,
        summary=None,
        confidence=0.0,
        evidence=[],
        cost={},
        details={},
        error=error,
    )


def next_steps(state: RunState) -> list[Send] | str:
    """``Send``s for every ready step; else ``approval`` while a person has to answer; else
    ``synthesize``. Steps waiting for approval never hold up independent branches."""
    plan = state_plan(state["plan"])
    results = state.get("results", {})
    approvals = state.get("approvals", {})
    done = [sid for sid, r in results.items() if r["status"] == "ok"]
    ready = [
        step
        for step in plan.ready(done=done, started=results)
        # dispatch recorded every ask (the workflow's or the workspace's) just before this
        if approvals.get(step.id, {}).get("approved") is True
        or not (step.approve or step.id in approvals)
    ]
    if ready:
        return [
            Send(
                "step",
                StepTask(
                    run_id=state["run_id"],
                    task=state["task"],
                    step=step.model_dump(mode="json"),
                    dependencies={d: results[d] for d in step.depends_on},
                ),
            )
            for step in ready
        ]
    waiting = [sid for sid, a in approvals.items() if "approved" not in a]
    return APPROVAL if waiting else DONE


async def step_node(payload: StepTask, runtime: Runtime[PodiumContext]) -> dict[str, Any]:
    """Run one step's expert, with its timeout, its accounting and its events."""
    outcome, cost = await run_step(payload, runtime.context)
    # Indirect injection: retrieved text is screened before any later model call sees it.
    outcome, verdicts = await screen_step(outcome, runtime.context, payload["run_id"])
    return {
        "results": {outcome["step_id"]: outcome},
        "ledger": [ledger_entry("step", cost, step_id=outcome["step_id"], **_decision(outcome))],
        **({"verdicts": verdicts} if verdicts else {}),
    }


def _decision(outcome: StepOutcome) -> dict[str, Any]:
    """An expert's own decision trail (e.g. nl2sql's ``escalate -> finalised``) and the
    collaboration policy the step ran with (kind, source, what it decided), for the ledger."""
    details = outcome.get("details") or {}
    entry: dict[str, Any] = {}
    decision = details.get("decision")
    if isinstance(decision, str):
        entry["decision"] = decision
    policy = details.get("policy")
    if isinstance(policy, dict):
        entry["policy"] = policy["kind"]
        entry["policy_source"] = policy["source"]
        collab = details.get("collaboration")
        if isinstance(collab, dict):
            said = collab.get("decision") or collab.get("outcome")
            if isinstance(said, str):
                entry["collaboration"] = said
    return entry


async def run_step(payload: StepTask, ctx: PodiumContext) -> tuple[StepOutcome, Cost]:
    step = payload["step"]
    step_id, expert_name, run_id = step["id"], step["expert"], payload["run_id"]
    deps = {sid: result_from_outcome(o) for sid, o in payload["dependencies"].items()}
    text = fill_references(step["input"], {sid: r.text(600) for sid, r in deps.items()})
    text = with_subject(text, step["input"], [o["input"] for o in payload["dependencies"].values()])
    emit(StepStarted(run_id=run_id, step_id=step_id, expert=expert_name, input=text))

    def note(data: dict[str, Any]) -> None:
        kind = str(data.pop("kind", "note"))
        emit(ExpertNote(run_id=run_id, step_id=step_id, expert=expert_name, kind=kind, data=data))

    timeout = ctx.limits.step_timeout_s
    chosen: dict[str, Any] | None = None
    with metered() as (meter, timing):
        try:
            expert = ctx.registry.get(expert_name)
            timeout = expert.timeout_s or timeout
            request = expert.parse_input(text, step.get("args"))
            if "database" in type(request).model_fields:  # only such requests can be routed
                request, routed = with_database(request, text, ctx.database_cards)
                if routed:
                    note({"kind": "database", **routed})
            ectx = ExpertContext(
                run_id=run_id,
                step_id=step_id,
                task=payload["task"],
                dependencies=deps,
                workspace=ctx.workspace,
                models=ctx.models,
                emit=note,
            )
            planned = parse_policy(step["policy"]) if step.get("policy") else None
            policy, source = policy_for(planned, expert, ctx.workspace)
            if policy is not None:
                chosen = {**policy.model_dump(mode="json"), "source": source}
                note({"kind": "policy", "policy": policy.kind, "source": source})
            async with asyncio.timeout(timeout):  # no extra task per step, unlike wait_for
                result = await execute_step(expert, request, ectx, policy, ctx)
            if not isinstance(result, ExpertResult):
                result = ExpertResult.failure(
                    f"expert returned {type(result).__name__}, not an ExpertResult"
                )
            result = asks_after(expert.check_output(result), ctx.workspace)
        except TimeoutError:
            result = ExpertResult.failure(f"timed out after {timeout:g} s")
        except PodiumError as exc:
            result = ExpertResult.failure(exc.message)
        except Exception as exc:  # an expert may fail in any way; the run must go on
            result = ExpertResult.failure(f"{type(exc).__name__}: {exc}")
    result.cost = _metered_cost(result.cost, meter, timing["ms"])
    if chosen is not None:
        result.details = {**result.details, "policy": chosen}
    outcome = outcome_from_result(step_id, expert_name, text, result)
    emit(
        StepFinished(
            run_id=run_id,
            step_id=step_id,
            expert=expert_name,
            status=outcome["status"],
            output=outcome["output"],
            confidence=outcome["confidence"],
            cost=outcome["cost"],
            error=outcome["error"],
            evidence=len(outcome["evidence"]),
        )
    )
    return outcome, result.cost


def _metered_cost(declared: Cost, meter: Any, ms: float) -> Cost:
    """The expert's own cost report, completed with what the meter saw. (Validated, not
    ``model_construct``-ed: pydantic's constructor is the faster of the two, 4 vs 9 us.)"""
    return Cost(
        model=declared.model or ", ".join(meter.models),
        input_tokens=declared.input_tokens or meter.input_tokens,
        output_tokens=declared.output_tokens or meter.output_tokens,
        ms=round(ms, 2),
        large_calls=declared.large_calls or meter.large_calls,
    )
