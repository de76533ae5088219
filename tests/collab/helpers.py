"""Scripted experts for the mechanism tests: answers, delays and failures are given."""

from __future__ import annotations

import asyncio
from collections.abc import Sequence
from typing import Any

from pydantic import BaseModel

from podium.experts.base import Expert, ExpertContext, ExpertResult


class Scripted(Expert):
    """Answers ``answers[i]`` on its i-th call (the last one repeats), after ``delay`` s.

    ``fail=True`` raises; ``revise=True`` adopts the first dissenting answer it is shown in
    ``ctx.options['feedback']`` (a generator that listens to its verifiers).
    """

    description = "scripted test expert"

    def __init__(
        self,
        name: str,
        answers: Sequence[Any] | Any,
        *,
        confidence: float = 0.8,
        delay: float = 0.0,
        fail: bool = False,
        revise: bool = False,
    ) -> None:
        self.name = name  # type: ignore[misc]
        self.answers = list(answers) if isinstance(answers, list | tuple) else [answers]
        self.confidence, self.delay, self.fail, self.revise = confidence, delay, fail, revise
        self.calls: list[dict[str, Any]] = []
        self.finished = 0
        self.cancelled = 0

    async def arun(self, request: BaseModel, ctx: ExpertContext) -> ExpertResult:
        self.calls.append(dict(ctx.options))
        try:
            await asyncio.sleep(self.delay)
        except asyncio.CancelledError:
            self.cancelled += 1
            raise
        if self.fail:
            raise RuntimeError(f"{self.name} broke")
        feedback = ctx.options.get("feedback")
        if self.revise and feedback:
            answer = feedback[0]
        else:
            answer = self.answers[min(len(self.calls) - 1, len(self.answers) - 1)]
        self.finished += 1
        return ExpertResult(output=answer, summary=str(answer), confidence=self.confidence)
