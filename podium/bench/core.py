"""The bench runner: the same examples through every strategy, scored the same way.

A task (see :mod:`podium.bench.tasks`) provides a small expert, a large expert, voters, a
calibration split and a scorer. Each strategy is one of the collaboration mechanisms from
:mod:`podium.orchestrator.collaboration` applied to the task's experts — the bench calls the
mechanisms, it does not re-implement them. Per strategy it records accuracy (with a 95 %
Wilson interval), large-model calls, model tokens and wall time per example.
"""

from __future__ import annotations

import asyncio
import dataclasses
import math
import time
from collections.abc import Callable, Sequence
from typing import Any

from pydantic import BaseModel, Field

from podium.experts.base import Expert, ExpertContext, ExpertResult
from podium.models.usage import metered
from podium.orchestrator.collaboration import (
    DecisionLedger,
    VoteRule,
    cascade,
    cross_verify,
    draft_finalise,
    fit_calibrator,
    fit_threshold,
    vote,
)
from podium.orchestrator.collaboration.hints import hint_from_result

from .tasks.base import ALL_STRATEGIES, BenchTask, Counted


class StrategyScore(BaseModel):
    accuracy: float
    ci_low: float
    ci_high: float
    correct: int
    n: int
    large_calls: int
    large_calls_per_example: float
    tokens: int
    tokens_per_example: float
    seconds: float = Field(description="Wall time per example.")
    extra: dict[str, Any] = Field(default_factory=dict)


class BenchReport(BaseModel):
    task: str
    n: int
    small: str
    large: str
    strategies: dict[str, StrategyScore]
    calibration: dict[str, Any] = Field(default_factory=dict)
    notes: list[str] = Field(default_factory=list)

    def figures(self) -> dict[str, Any]:
        """The ``figures.json`` shape."""
        return {
            "task": self.task,
            "n": self.n,
            "strategies": {
                k: {
                    "accuracy": v.accuracy,
                    "ci95": [v.ci_low, v.ci_high],
                    "large_calls": v.large_calls,
                    "tokens": v.tokens,
                    "seconds": v.seconds,
                }
                for k, v in self.strategies.items()
            },
            "small": self.small,
            "large": self.large,
            "calibration": self.calibration,
            "notes": self.notes,
        }


def wilson(correct: int, n: int, z: float = 1.96) -> tuple[float, float]:
    """95 % Wilson score interval of a proportion."""
    if n == 0:
        return 0.0, 0.0
    p = correct / n
    centre = (p + z * z / (2 * n)) / (1 + z * z / n)
    half = z * math.sqrt(p * (1 - p) / n + z * z / (4 * n * n)) / (1 + z * z / n)
    return round(max(0.0, centre - half), 4), round(min(1.0, centre + half), 4)


Progress = Callable[[str, int], None]


def run_bench(
    task: BenchTask,
    strategies: Sequence[str] | None = None,
    *,
    budget: float = 0.5,
    progress: Progress | None = None,
    partial: Callable[[BenchReport], None] | None = None,
) -> BenchReport:
    """Calibrate on the task's calibration split, then run every strategy on its test split.

    ``partial`` receives the report so far after each strategy (so a long run that is
    stopped still leaves its finished strategies behind)."""
    return asyncio.run(_run(task, strategies, budget, progress or (lambda _s, _i: None), partial))


async def _run(
    task: BenchTask,
    strategies: Sequence[str] | None,
    budget: float,
    progress: Progress,
    partial: Callable[[BenchReport], None] | None,
) -> BenchReport:
    wanted = [s for s in (strategies or ALL_STRATEGIES) if s in task.strategies]
    unknown = sorted(set(strategies or ()) - set(ALL_STRATEGIES))
    if unknown:
        raise ValueError(f"unknown strategies {unknown}; choose from {list(ALL_STRATEGIES)}")
    notes = list(task.notes)
    skipped = sorted(set(strategies or ALL_STRATEGIES) - set(wanted))
    if skipped:
        notes.append(f"not applicable to {task.name}: {', '.join(skipped)}")
    small, large = Counted(task.small()), Counted(task.large(), large=True)

    # Calibrate the small expert and fit the cascade threshold on held-out examples.
    progress("calibrate", 0)
    conf, right = [], []
    for ex in task.calibration_examples():
        r = await small.arun(task.request(ex), task.context(ex))
        conf.append(r.confidence if r.ok else 0.0)
        right.append(r.ok and task.correct(r, ex))
        progress("calibrate", 1)
    calibrator = fit_calibrator(conf, right, method="isotonic")
    small.calibrator = calibrator
    threshold = fit_threshold(calibrator.many(conf), right, budget=budget)
    calibration = {
        **calibrator.report,
        "method": "isotonic",
        "threshold": round(threshold.value, 4),
        "budget": budget,
        "calibration_escalation_rate": round(threshold.escalation_rate, 4),
        "calibrator": calibrator.model_dump(exclude={"report"}),
    }

    ledger = DecisionLedger()
    runners = _strategies(task, small, large, threshold.value, ledger)
    scores: dict[str, StrategyScore] = {}
    examples = task.test_examples()
    for name in wanted:
        good = tokens = 0
        calls_before = large.calls
        start = time.perf_counter()
        for ex in examples:
            with metered() as (meter, _):
                result = await runners[name](task.request(ex), task.context(ex))
            good += int(result.ok and task.correct(result, ex))
            tokens += meter.input_tokens + meter.output_tokens
            progress(name, 1)
        seconds = time.perf_counter() - start
        n, calls = len(examples), large.calls - calls_before
        low, high = wilson(good, n)
        scores[name] = StrategyScore(
            accuracy=round(good / n, 4),
            ci_low=low,
            ci_high=high,
            correct=good,
            n=n,
            large_calls=calls,
            large_calls_per_example=round(calls / n, 3),
            tokens=tokens,
            tokens_per_example=round(tokens / n, 1),
            seconds=round(seconds / n, 3),
        )
        if partial is not None:
            partial(_report(task, examples, scores, calibration, notes, ledger))
    return _report(task, examples, scores, calibration, notes, ledger)


def _report(
    task: BenchTask,
    examples: Sequence[Any],
    scores: dict[str, StrategyScore],
    calibration: dict[str, Any],
    notes: list[str],
    ledger: DecisionLedger,
) -> BenchReport:
    if "cascade" in scores:
        scores["cascade"].extra = {"ledger": ledger.summary()}
    return BenchReport(
        task=task.name,
        n=len(examples),
        small=task.small_label,
        large=task.large_label,
        strategies=dict(scores),
        calibration=calibration,
        notes=notes,
    )


Runner = Callable[[BaseModel, ExpertContext], Any]


def _strategies(
    task: BenchTask, small: Counted, large: Counted, threshold: float, ledger: DecisionLedger
) -> dict[str, Runner]:
    voters: list[Expert] = [small, *[Counted(v) for v in task.extra_voters()], large]

    async def small_only(req: BaseModel, ctx: ExpertContext) -> ExpertResult:
        return await small.arun(req, ctx)

    async def large_only(req: BaseModel, ctx: ExpertContext) -> ExpertResult:
        return await large.arun(req, ctx)

    async def run_cascade(req: BaseModel, ctx: ExpertContext) -> ExpertResult:
        return await cascade(small, large, req, ctx, threshold=threshold, ledger=ledger)

    async def run_vote(req: BaseModel, ctx: ExpertContext) -> ExpertResult:
        return await vote(voters, req, ctx, VoteRule(mode=task.vote_mode, agree=task.agree))

    async def run_verify(req: BaseModel, ctx: ExpertContext) -> ExpertResult:
        return await cross_verify(
            small,
            [large],
            req,
            ctx,
            agree=task.agree,
            max_rounds=1,
            escalate=task.escalation(large),
        )

    async def run_hints(req: BaseModel, ctx: ExpertContext) -> ExpertResult:
        first = await small.arun(req, ctx)
        hint = hint_from_result(small.name, first)
        options = {**ctx.options, "hints": [hint.model_dump()] if hint else []}
        return await large.arun(req, dataclasses.replace(ctx, options=options))

    async def run_draft(req: BaseModel, ctx: ExpertContext) -> ExpertResult:
        return await draft_finalise(
            small, large, req, ctx, validate=task.validate, accept_above=threshold, ledger=ledger
        )

    return {
        "small_only": small_only,
        "large_only": large_only,
        "cascade": run_cascade,
        "vote": run_vote,
        "verify": run_verify,
        "hints": run_hints,
        "draft_finalise": run_draft,
    }
