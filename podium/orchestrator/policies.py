"""How a step calls its expert: retries, and the collaboration policy a step may carry.

``execute_step`` is the one place the dispatcher calls an expert. Without a policy it is a
plain call with Podium's retry rule; with one (``Step.policy``) the collaboration mechanisms
(vote, cross-verification, cascade, hints, draft→finalise) take over the call.
"""

from __future__ import annotations

import asyncio
import random
from collections.abc import Awaitable, Callable
from typing import Any

from langgraph.types import RetryPolicy
from pydantic import BaseModel, ConfigDict, Field

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


class StepPolicy(BaseModel):
    """A collaboration policy for one step. Every field is optional; the collaboration
    mechanisms in :mod:`podium.orchestrator.collaboration` read the ones they own."""

    model_config = ConfigDict(extra="allow")

    kind: str = Field(description="vote | verify | cascade | hints | draft_finalise")
    options: dict[str, Any] = Field(default_factory=dict)


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
    if runner is None:  # the built-in mechanisms register themselves on first use
        import podium.orchestrator.collaboration  # noqa: F401

        runner = _POLICIES.get(policy.kind)
    if runner is None:
        raise InputRejected(
            f"unknown collaboration policy {policy.kind!r}",
            hint=f"known: {', '.join(sorted(_POLICIES)) or 'none registered'}",
        )
    return await runner(expert, request, ctx, policy, runtime)
