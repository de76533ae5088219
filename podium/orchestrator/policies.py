"""How a step calls its expert: retries, and the collaboration policy a step may carry.

``execute_step`` is the one place the dispatcher calls an expert. Without a policy it is a
plain call with Podium's retry rule; with one (``Step.policy``) the collaboration mechanisms
(vote, cross-verification, cascade, hints, draft→finalise) take over the call.
"""

from __future__ import annotations

import asyncio
import random
from collections.abc import Awaitable, Callable
from typing import Any, Literal

from langgraph.types import RetryPolicy
from pydantic import BaseModel, ConfigDict, Field, ValidationError, model_validator

from podium.errors import BudgetExceeded, InputRejected, PodiumError, SQLRefused
from podium.experts.base import Expert, ExpertContext, ExpertResult

# Exceptions worth retrying: transient failures of a backend. Bad input, refusals and budget
# stops are final: retrying them would only repeat the same answer.
_FINAL = (InputRejected, SQLRefused, BudgetExceeded, ValueError, TypeError, KeyError)


def _transient(exc: Exception) -> bool:
    return not isinstance(exc, _FINAL) and not (
        isinstance(exc, PodiumError) and exc.http_status < 500
    )


DEFAULT_RETRY = RetryPolicy(
    initial_interval=0.2,
    backoff_factor=2.0,
    max_interval=5.0,
    max_attempts=2,
    jitter=True,
    retry_on=_transient,
)


class VoteOptions(BaseModel):
    model_config = ConfigDict(extra="forbid")

    voters: list[str] | None = Field(default=None, description="Registry names; 'large'.")
    mode: Literal["majority", "weighted", "quorum"] = "majority"
    quorum: int | None = Field(default=None, ge=1)
    agree: Literal["output", "rows"] = "output"


class VerifyOptions(BaseModel):
    model_config = ConfigDict(extra="forbid")

    verifiers: list[str] = Field(default_factory=lambda: ["large"], min_length=1)
    consensus: Literal["all", "majority", "any"] = "all"
    max_rounds: int = Field(default=2, ge=1, le=5)
    escalate: str | None = Field(default=None, description="An expert name, or 'human'.")
    agree: Literal["output", "rows"] = "output"


class CascadeOptions(BaseModel):
    model_config = ConfigDict(extra="forbid")

    large: str = "large"
    threshold: float = Field(default=0.5, ge=0.0, le=1.0001)
    calibrator: str | None = Field(default=None, description="A calibrator JSON file.")


class HintsOptions(BaseModel):
    model_config = ConfigDict(extra="forbid")

    from_: list[str] | None = Field(default=None, alias="from")
    enabled: bool = True
    choices: list[str] | None = None


class DraftOptions(BaseModel):
    model_config = ConfigDict(extra="forbid")

    finaliser: str = "large"
    accept_above: float | None = Field(default=None, ge=0.0, le=1.0001)
    max_repairs: int = Field(default=1, ge=0, le=5)


class SingleOptions(BaseModel):
    model_config = ConfigDict(extra="forbid")


class LargeOptions(BaseModel):
    model_config = ConfigDict(extra="forbid")

    large: str = "large"


# The built-in kinds and what each accepts: a typo in an option is an error naming it.
# ``single`` is the step's expert alone (a policy card that found no structure worth its
# cost says so explicitly); ``large`` is the large model alone.
OPTIONS: dict[str, type[BaseModel]] = {
    "single": SingleOptions,
    "large": LargeOptions,
    "vote": VoteOptions,
    "verify": VerifyOptions,
    "cascade": CascadeOptions,
    "hints": HintsOptions,
    "draft_finalise": DraftOptions,
}
PolicySource = Literal["plan", "card", "default"]


class StepPolicy(BaseModel):
    """A collaboration policy for one step: a kind and its options.

    The built-in kinds (:data:`OPTIONS`) validate their options; a kind added with
    :func:`register_policy` takes any options. Set it in a Python workflow or a plan; when a
    step has none the dispatcher takes the expert's policy card from the workspace
    (``podium bench TASK --write-policy``), else the expert's ``default_policy``.
    """

    model_config = ConfigDict(extra="forbid")

    kind: str = Field(
        min_length=1,
        description="single | large | vote | verify | cascade | hints | draft_finalise",
    )
    options: dict[str, Any] = Field(default_factory=dict)

    @model_validator(mode="after")
    def _known_options(self) -> StepPolicy:
        model = OPTIONS.get(self.kind)
        if model is not None:
            try:
                model.model_validate(self.options)
            except ValidationError as exc:
                problems = "; ".join(
                    f"{'.'.join(str(x) for x in e['loc']) or 'options'}: {e['msg']}"
                    for e in exc.errors()
                )
                raise ValueError(f"{self.kind} policy options: {problems}") from None
        elif self.kind not in _POLICIES:
            raise ValueError(
                f"unknown policy kind {self.kind!r}; use one of "
                f"{', '.join(sorted({*OPTIONS, *_POLICIES}))}"
            )
        return self


PolicyRunner = Callable[
    [Expert, BaseModel, ExpertContext, StepPolicy, Any], Awaitable[ExpertResult]
]
_POLICIES: dict[str, PolicyRunner] = {}


def register_policy(kind: str, runner: PolicyRunner) -> None:
    """Make a collaboration mechanism available to steps as ``policy.kind``."""
    _POLICIES[kind] = runner


async def call_with_retry(
    fn: Callable[[], Awaitable[ExpertResult]], retry: RetryPolicy = DEFAULT_RETRY
) -> ExpertResult:
    """Call ``fn``; on a transient exception wait (exponential backoff) and try again."""
    attempt, interval = 1, retry.initial_interval
    while True:
        try:
            return await fn()
        except Exception as exc:
            retry_on = retry.retry_on
            should = (
                retry_on(exc)
                if callable(retry_on) and not isinstance(retry_on, type)
                else isinstance(exc, retry_on)  # type: ignore[arg-type]
            )
            if attempt >= retry.max_attempts or not should:
                raise
            delay = min(interval, retry.max_interval)
            if retry.jitter:
                delay *= 0.5 + random.random()
            await asyncio.sleep(delay)
            attempt, interval = attempt + 1, interval * retry.backoff_factor


async def execute_step(
    expert: Expert,
    request: BaseModel,
    ctx: ExpertContext,
    policy: StepPolicy | None = None,
    runtime: Any = None,
) -> ExpertResult:
    """Run one step's expert under its retry rule and, if any, its collaboration policy."""
    retry = getattr(expert, "retry", None) or DEFAULT_RETRY
    if policy is None:
        executor = getattr(runtime, "executor", None)
        if executor is not None:  # e.g. Ray actors: same Expert, another place to run it
            return await call_with_retry(lambda: executor.arun(expert, request, ctx), retry)
        return await call_with_retry(lambda: expert.arun(request, ctx), retry)
    runner = _POLICIES.get(policy.kind)
    if runner is None:
        raise InputRejected(
            f"unknown collaboration policy {policy.kind!r}",
            hint=f"known: {', '.join(sorted(_POLICIES)) or 'none registered'}",
        )
    return await runner(expert, request, ctx, policy, runtime)
