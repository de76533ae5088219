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
    reached_large: float = Field(
        default=0.0, description="Share of examples on which the large model was called."
    )
    tokens: int
    tokens_per_example: float
    seconds: float = Field(
        description="Wall time per example (replayed answers counted at their measured time)."
    )
    extra: dict[str, Any] = Field(default_factory=dict)


class BenchReport(BaseModel):
    task: str
    n: int
    metric: str = "accuracy"
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
            "metric": self.metric,
            "strategies": {
                k: {
                    "accuracy": v.accuracy,
                    "ci95": [v.ci_low, v.ci_high],
                    "large_calls": v.large_calls,
                    "reached_large": v.reached_large,
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


def mean_interval(values: Sequence[float], z: float = 1.96) -> tuple[float, float]:
    """95 % normal interval of a mean (for graded scores such as nDCG@10)."""
    n = len(values)
    if n == 0:
        return 0.0, 0.0
    mean = sum(values) / n
    sd = math.sqrt(sum((v - mean) ** 2 for v in values) / max(1, n - 1))
    half = z * sd / math.sqrt(n)
    return round(max(0.0, mean - half), 4), round(min(1.0, mean + half), 4)


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
    conf: list[float] = []
    was_right: list[bool] = []
    for ex in task.calibration_examples():
        r = await small.arun(task.request(ex), task.context(ex))
        conf.append(r.confidence if r.ok else 0.0)
        was_right.append(r.ok and task.correct(r, ex))
        progress("calibrate", 1)
    calibrator = fit_calibrator(conf, was_right, method="isotonic")
    small.calibrator = calibrator
    threshold = fit_threshold(calibrator.many(conf), was_right, budget=budget)
    calibration = {
        **calibrator.report,
        "method": "isotonic",
        "threshold": round(threshold.value, 4),
        "budget": budget,
        "calibration_escalation_rate": round(threshold.escalation_rate, 4),
        "calibrator": calibrator.model_dump(exclude={"report"}),
    }

    scores: dict[str, StrategyScore] = {}
    examples = task.test_examples()
    counted = [small, large, *voters_of(task)]
    baseline: list[bool] = []  # small_only's right/wrong per example: who overruled whom
    for name in wanted:
        ledger = DecisionLedger()
        runners = _strategies(task, small, large, threshold.value, ledger, counted[2:])
        good = tokens = reached = 0
        calls_before = large.calls
        replayed_before = sum(c.replayed_seconds for c in counted)
        start = time.perf_counter()
        answers: list[ExpertResult] = []
        right: list[bool] = []
        quality: list[float] = []
        for ex in examples:
            before = large.calls
            with metered() as (meter, _):
                result = await runners[name](task.request(ex), task.context(ex))
            answers.append(result)
            right.append(bool(result.ok and task.correct(result, ex)))
            quality.append(task.score(result, ex))
            good += int(right[-1])
            tokens += meter.input_tokens + meter.output_tokens
            reached += int(large.calls > before)
            progress(name, 1)
        seconds = time.perf_counter() - start
        seconds += sum(c.replayed_seconds for c in counted) - replayed_before
        if name == "small_only":
            baseline = right
        versus_small = {}
        if baseline and name != "small_only":
            versus_small = {
                "fixed_vs_small": sum(r and not b for r, b in zip(right, baseline, strict=True)),
                "broke_vs_small": sum(b and not r for r, b in zip(right, baseline, strict=True)),
            }
        n, calls = len(examples), large.calls - calls_before
        if task.metric == "accuracy":
            low, high = wilson(good, n)
        else:
            low, high = mean_interval(quality)
        scores[name] = StrategyScore(
            accuracy=round(sum(quality) / n, 4),
            ci_low=low,
            ci_high=high,
            correct=good,
            n=n,
            large_calls=calls,
            large_calls_per_example=round(calls / n, 3),
            reached_large=round(reached / n, 3),
            tokens=tokens,
            tokens_per_example=round(tokens / n, 1),
            seconds=round(seconds / n, 3),
            extra={
                **({"ledger": ledger.summary()} if len(ledger) else {}),
                **versus_small,
                **task.breakdown(answers, examples),
            },
        )
        if partial is not None:
            partial(_report(task, examples, scores, calibration, notes))
    return _report(task, examples, scores, calibration, notes)


def voters_of(task: BenchTask) -> list[Counted]:
    """The task's extra voters, counted once per run (so their answers are replayed too)."""
    cache = task.__dict__.setdefault("_counted_voters", None)
    if cache is None:
        cache = [Counted(v) for v in task.extra_voters()]
        task.__dict__["_counted_voters"] = cache
    return cache


def _report(
    task: BenchTask,
    examples: Sequence[Any],
    scores: dict[str, StrategyScore],
    calibration: dict[str, Any],
    notes: list[str],
) -> BenchReport:
    return BenchReport(
        task=task.name,
        n=len(examples),
        metric=task.metric,
        small=task.small_label,
        large=task.large_label,
        strategies=dict(scores),
        calibration=calibration,
        notes=notes,
    )


Runner = Callable[[BaseModel, ExpertContext], Any]


def _strategies(
    task: BenchTask,
    small: Counted,
    large: Counted,
    threshold: float,
    ledger: DecisionLedger,
    extra_voters: Sequence[Expert] = (),
) -> dict[str, Runner]:
    voters: list[Expert] = [small, *extra_voters, large]

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
            ledger=ledger,
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
