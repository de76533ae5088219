"""What a bench task provides, and the call counter that measures large-model use."""

from __future__ import annotations

import json
import time
from collections.abc import Sequence
from typing import Any, ClassVar

from pydantic import BaseModel

from podium.experts.base import Expert, ExpertContext, ExpertResult
from podium.models.usage import current_meter, metered
from podium.orchestrator.collaboration.agreement import Agreement, same_output
from podium.orchestrator.collaboration.vote import VoteMode
from podium.orchestrator.policies import StepPolicy, step_policy

# Every strategy `podium bench` knows, in the order its table shows them.
ALL_STRATEGIES = (
    "small_only",
    "large_only",
    "cascade",
    "vote",
    "verify",
    "hints",
    "draft_finalise",
)


class Counted(Expert):
    """Wraps an expert and counts its calls (``large=True``: these are large-model calls).

    With ``memo`` an answer to the same request and the same options (draft, feedback,
    hints, choices) is computed once per run and replayed to every strategy that asks again:
    greedy decoding makes it the same answer, and every strategy is then scored on the same
    small drafts (a paired comparison). A replayed call still counts as a call, and its
    tokens and its measured seconds are added as if it had been made again, so each
    strategy's cost is what it would have cost alone.
    """

    def __init__(self, inner: Expert, *, large: bool = False, memo: bool = True) -> None:
        self.inner, self.large, self.calls = inner, large, 0
        self.memo = memo
        self.replayed_seconds = 0.0
        self._memo: dict[str, tuple[ExpertResult, int, int, float]] = {}
        self.name = inner.name  # type: ignore[misc]
        self.description = inner.description  # type: ignore[misc]
        self.input_model = inner.input_model  # type: ignore[misc]
        self.calibrator: Any = getattr(inner, "calibrator", None)

    async def arun(self, request: BaseModel, ctx: ExpertContext) -> ExpertResult:
        self.calls += 1
        if not self.memo:
            return await self.inner.arun(request, ctx)
        key = _key(request, ctx)
        hit = self._memo.get(key)
        if hit is None:
            start = time.perf_counter()
            with metered() as (meter, _):
                result = await self.inner.arun(request, ctx)
            hit = (result, meter.input_tokens, meter.output_tokens, time.perf_counter() - start)
            self._memo[key] = hit
        else:
            self.replayed_seconds += hit[3]
        result, tokens_in, tokens_out, _ = hit
        outer = current_meter()
        if outer is not None:
            outer.add(tokens_in, tokens_out, large=self.large)
        return result.model_copy(deep=True)


def _key(request: BaseModel, ctx: ExpertContext) -> str:
    options = {k: ctx.options.get(k) for k in sorted(ctx.options)}
    return json.dumps([request.model_dump(mode="json"), options], sort_keys=True, default=str)


class BenchTask:
    """One benchmark: examples, the small and large experts, and how to score an answer."""

    name: ClassVar[str] = ""
    # The registry name of the expert whose policy card ``--write-policy`` writes.
    expert: ClassVar[str] = ""
    # Every strategy but draft_finalise, which needs a task that can check and repair a draft.
    strategies: ClassVar[tuple[str, ...]] = ALL_STRATEGIES[:-1]
    vote_mode: VoteMode = "weighted"
    agree: Agreement = staticmethod(same_output)
    notes: list[str]
    metric: str = "accuracy"
    small_label: str = ""
    large_label: str = ""

    def calibration_examples(self) -> Sequence[Any]:
        raise NotImplementedError

    def test_examples(self) -> Sequence[Any]:
        raise NotImplementedError

    def small(self) -> Expert:
        raise NotImplementedError

    def large(self) -> Expert:
        raise NotImplementedError

    def extra_voters(self) -> list[Expert]:
        """Voters besides the small and the large expert."""
        return []

    def request(self, example: Any) -> BaseModel:
        raise NotImplementedError

    def context(self, example: Any) -> ExpertContext:
        raise NotImplementedError

    def correct(self, result: ExpertResult, example: Any) -> bool:
        raise NotImplementedError

    def score(self, result: ExpertResult, example: Any) -> float:
        """The quality of one answer in [0, 1] (default: 1 if correct; retrieval: nDCG@10)."""
        return float(result.ok and self.correct(result, example))

    def breakdown(self, answers: Sequence[ExpertResult], examples: Sequence[Any]) -> dict[str, Any]:
        """Task-specific figures for one strategy's answers (e.g. a ranking metric)."""
        return {}

    def validate(self, result: ExpertResult) -> str | None:
        """Feedback for draft→finalise (None = acceptable)."""
        return result.error

    def policy(self, strategy: str, threshold: float, calibrator: str | None) -> StepPolicy:
        """The step policy that runs ``strategy`` for this task's expert in a plan."""
        kinds: dict[str, tuple[str, dict[str, Any]]] = {
            "small_only": ("single", {}),
            "large_only": ("large", {}),
            "cascade": ("cascade", {"threshold": threshold, "calibrator": calibrator}),
            "vote": ("vote", {"voters": [self.expert, "large"], "mode": self.vote_mode}),
            "verify": ("verify", {"max_rounds": 1, "escalate": "large"}),
            "hints": ("hints", {}),
            "draft_finalise": ("draft_finalise", {"accept_above": threshold}),
        }
        kind, options = kinds[strategy]
        return step_policy(kind, {k: v for k, v in options.items() if v is not None})

    def escalation(self, large: Expert) -> Expert | None:
        """Who settles an unresolved verification (default: the large model, with hints)."""
        return large
