"""Draft → finalise (as in ZeroNL2SQL): the small model drafts; the large model repairs or
completes the draft, told what validation found wrong.

Generic over experts: ``validate(result)`` returns ``None`` when a result is acceptable, or
feedback text (an execution error, a failed check). The finaliser reads ``ctx.options``
``draft`` and ``feedback``. A valid draft whose confidence reaches ``accept_above`` is kept
without calling the large model (the ledger counts the call saved); the confidence is
calibrated first when the drafter carries a calibrator.
"""

from __future__ import annotations

import dataclasses
import inspect
from collections.abc import Awaitable, Callable
from typing import Any

from pydantic import BaseModel

from podium.experts.base import Expert, ExpertContext, ExpertResult

from .ledger import Decision, DecisionLedger

Validator = Callable[[ExpertResult], "str | Awaitable[str | None] | None"]


def result_errors(result: ExpertResult) -> str | None:
    """The default validation: a failed result's error is the feedback."""
    return result.error


async def _check(validate: Validator, result: ExpertResult) -> str | None:
    out = validate(result)
    return await out if inspect.isawaitable(out) else out


async def draft_finalise(
    drafter: Expert,
    finaliser: Expert,
    request: BaseModel,
    ctx: ExpertContext,
    *,
    validate: Validator = result_errors,
    accept_above: float | None = None,
    max_repairs: int = 1,
    ledger: DecisionLedger | None = None,
) -> ExpertResult:
    draft = await drafter.arun(request, ctx)
    calibrator = getattr(drafter, "calibrator", None)
    sure = calibrator(draft.confidence) if calibrator is not None else draft.confidence
    feedback = await _check(validate, draft)
    if feedback is None and (accept_above is None or sure >= accept_above):
        return _done(draft, "draft_kept", 0, [], ctx, ledger)
    if feedback is None:
        feedback = f"the draft's confidence {sure:.2f} is under {accept_above}"
    trail: list[dict[str, Any]] = [{"draft": _short(draft), "feedback": feedback}]
    current = draft
    for _ in range(max_repairs):
        fctx = dataclasses.replace(
            ctx, options={**ctx.options, "draft": _short(current), "feedback": feedback}
        )
        current = await finaliser.arun(request, fctx)
        feedback = await _check(validate, current)
        trail.append({"draft": _short(current), "feedback": feedback})
        if feedback is None:
            return _done(current, "repaired", len(trail) - 1, trail, ctx, ledger)
    return _done(current, "unrepaired", len(trail) - 1, trail, ctx, ledger)


def _short(result: ExpertResult) -> str:
    sql = next((e.text for e in result.evidence if e.kind == "sql"), None)
    return sql or result.text(400)


def _done(
    result: ExpertResult,
    outcome: str,
    large_calls: int,
    trail: list[dict[str, Any]],
    ctx: ExpertContext,
    ledger: DecisionLedger | None,
) -> ExpertResult:
    info = {
        "mechanism": "draft_finalise",
        "outcome": outcome,
        "repairs": large_calls,
        "trail": trail,
    }
    if ledger is not None:
        ledger.record(
            Decision(
                mechanism="draft_finalise",
                decision=outcome,
                step_id=ctx.step_id,
                confidence=result.confidence,
                large_calls=large_calls,
                saved_large_calls=1 if outcome == "draft_kept" else 0,
            )
        )
    ctx.emit({"kind": "draft_finalise", "outcome": outcome, "repairs": large_calls})
    return result.model_copy(update={"details": {**result.details, "collaboration": info}})
