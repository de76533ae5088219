"""What a bench task provides, and the call counter that measures large-model use."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any, ClassVar

from pydantic import BaseModel

from podium.experts.base import Expert, ExpertContext, ExpertResult
from podium.orchestrator.collaboration.agreement import Agreement, same_output
from podium.orchestrator.collaboration.vote import VoteMode

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
    """Wraps an expert and counts its calls (``large=True``: these are large-model calls)."""

    def __init__(self, inner: Expert, *, large: bool = False) -> None:
        self.inner, self.large, self.calls = inner, large, 0
        self.name = inner.name  # type: ignore[misc]
        self.description = inner.description  # type: ignore[misc]
        self.input_model = inner.input_model  # type: ignore[misc]
        self.calibrator: Any = getattr(inner, "calibrator", None)

    async def arun(self, request: BaseModel, ctx: ExpertContext) -> ExpertResult:
        self.calls += 1
        return await self.inner.arun(request, ctx)


class BenchTask:
    """One benchmark: examples, the small and large experts, and how to score an answer."""

    name: ClassVar[str] = ""
    # Every strategy but draft_finalise, which needs a task that can check and repair a draft.
    strategies: ClassVar[tuple[str, ...]] = ALL_STRATEGIES[:-1]
    vote_mode: VoteMode = "weighted"
    agree: Agreement = staticmethod(same_output)  # type: ignore[assignment]
    notes: list[str]
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

    def validate(self, result: ExpertResult) -> str | None:
        """Feedback for draft→finalise (None = acceptable)."""
        return result.error

    def escalation(self, large: Expert) -> Expert | None:
        """Who settles an unresolved verification (default: the large model, with hints)."""
        return large
