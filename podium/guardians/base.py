"""The guardian contract: inspect a text, return a verdict.

Guardians screen what enters a run (``guard_in``) and what leaves it (``guard_out``). They are
small and fast; each runs under a latency budget, and a policy decides whether a verdict
blocks or only flags.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Literal, Protocol, runtime_checkable

from pydantic import BaseModel, Field

Action = Literal["allow", "flag", "block", "transform"]
Stage = Literal["in", "out"]


class Verdict(BaseModel):
    """What a guardian decided about one text."""

    guardian: str
    action: Action
    category: str = ""
    score: float = Field(default=0.0, ge=0.0, le=1.0)
    reason: str = ""
    transformed: str | None = Field(
        default=None, description="The replacement text when action is 'transform'."
    )
    model: str = ""


@dataclass
class GuardInput:
    """What a guardian sees: the text, which stage, and the run's material for context."""

    text: str
    stage: Stage
    task: str = ""
    evidence: list[dict[str, Any]] = field(default_factory=list)
    results: dict[str, Any] = field(default_factory=dict)


@runtime_checkable
class Guardian(Protocol):
    name: str
    stages: tuple[Stage, ...]
    budget_ms: float

    async def inspect(self, item: GuardInput) -> Verdict: ...
