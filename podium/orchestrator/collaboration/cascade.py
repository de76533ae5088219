"""Cascade: the small expert answers first; the large model is asked only when the small
expert's (calibrated) confidence is under a threshold.

Unlike routers that guess from the question alone, the decision looks at the small model's
actual answer. Thresholds are fit on held-out data, either to a target accuracy (the fewest
escalations that reach it) or to a budget (the best accuracy with at most that share of
escalations). Every decision goes to the ledger and to the run's events.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
from pydantic import BaseModel

from podium.experts.base import Expert, ExpertContext, ExpertResult

from .agreement import same_output
from .calibration import Calibrator
from .ledger import Decision, DecisionLedger
from .llm import LargeModelExpert


@dataclass(frozen=True)
class Threshold:
    """A fitted threshold: escalate when confidence < ``value``."""

    value: float
    expected_accuracy: float | None
    escalation_rate: float
    reached: bool = True


def fit_threshold(
    confidences: Sequence[float],
    small_correct: Sequence[bool],
    large_correct: Sequence[bool] | None = None,
    *,
    target_accuracy: float | None = None,
    budget: float | None = None,
) -> Threshold:
    """Choose the escalation threshold on held-out outcomes.

    ``target_accuracy``: the lowest escalation rate whose cascade accuracy reaches it (with
    ``large_correct``), or whose accuracy on the accepted answers reaches it (without).
    ``budget``: at most this share of examples escalated; the best accuracy within it.
    """
    if (target_accuracy is None) == (budget is None):
        raise ValueError("fit_threshold needs exactly one of target_accuracy or budget")
    conf = np.asarray(confidences, dtype=float)
    small = np.asarray(small_correct, dtype=float)
    if conf.size == 0 or conf.shape != small.shape:
        raise ValueError("fit_threshold needs as many confidences as small-model outcomes")
    large = None if large_correct is None else np.asarray(large_correct, dtype=float)
    if large is not None and large.shape != conf.shape:
        raise ValueError("large_correct must be as long as confidences")
    candidates = sorted({0.0, *conf.tolist(), float(conf.max()) + 1e-9})
    rows = []
    for t in candidates:
        up = conf < t
        rate = float(up.mean())
        if large is not None:
            acc = float((np.where(up, large, small)).mean())
        else:
            acc = float(small[~up].mean()) if (~up).any() else float("nan")
        rows.append((t, acc, rate))
    if budget is not None:
        if not 0.0 <= budget <= 1.0:
            raise ValueError(f"budget is a share of examples in [0, 1], got {budget}")
        within = [r for r in rows if r[2] <= budget + 1e-12]
        if large is not None:
            t, acc, rate = max(within, key=lambda r: (r[1], -r[2]))
        else:
            t, acc, rate = max(within, key=lambda r: r[0])
        return Threshold(t, None if np.isnan(acc) else acc, rate)
    assert target_accuracy is not None
    good = [r for r in rows if not np.isnan(r[1]) and r[1] >= target_accuracy]
    if good:
        t, acc, rate = min(good, key=lambda r: (r[2], -r[1]))
        return Threshold(t, acc, rate)
    t, acc, rate = max((r for r in rows if not np.isnan(r[1])), key=lambda r: (r[1], -r[2]))
    return Threshold(t, acc, rate, reached=False)


async def cascade(
    small: Expert,
    large: Expert,
    request: BaseModel,
    ctx: ExpertContext,
    *,
    threshold: float,
    calibrator: Calibrator | None = None,
    ledger: DecisionLedger | None = None,
) -> ExpertResult:
    """Answer with ``small``; escalate to ``large`` when its calibrated confidence < threshold
    (or when it failed). The calibrator defaults to the one stored on the small expert."""
    calibrator = calibrator or getattr(small, "calibrator", None)
    try:
        first = await small.arun(request, ctx)
    except Exception as exc:  # a failed small answer is a reason to escalate, not to stop
        first = ExpertResult.failure(f"{type(exc).__name__}: {exc}")
    raw = first.confidence
    calibrated = calibrator(raw) if (calibrator is not None and first.ok) else raw
    accept = first.ok and calibrated >= threshold
    decision = Decision(
        mechanism="cascade",
        decision="accepted" if accept else "escalated",
        step_id=ctx.step_id,
        confidence=raw,
        calibrated=round(calibrated, 4),
        threshold=threshold,
        large_calls=0 if accept else 1,
        saved_large_calls=1 if accept else 0,
        extra={} if first.ok else {"small_error": first.error},
    )
    if ledger is not None:
        ledger.record(decision)
    ctx.emit({"kind": "cascade_decision", **decision.model_dump(exclude={"extra"})})
    info = decision.model_dump()
    if accept:
        return first.model_copy(
            update={
                "confidence": round(calibrated, 4),
                "details": {**first.details, "collaboration": info},
            }
        )
    second = await large.arun(request, ctx)
    if isinstance(large, LargeModelExpert) and first.ok and second.ok:
        # The large model answered on its own what the small expert had answered: a match is
        # a confirmation (learning records the step as a verified example).
        agreed = same_output(first, second)
        ctx.emit({"kind": "large_check", "mechanism": "cascade", "round": 1, "agreed": agreed})
    return second.model_copy(
        update={
            "cost": first.cost + second.cost,
            "details": {
                **second.details,
                "collaboration": {**info, "small_output": first.output},
            },
        }
    )
