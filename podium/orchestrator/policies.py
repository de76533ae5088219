"""How a step calls its expert: retries, and the collaboration policy a step may carry.

``execute_step`` is the one place the dispatcher calls an expert. Without a policy it is a
plain call with Podium's retry rule; with one (``Step.policy``) the collaboration mechanisms
(vote, cross-verification, cascade, hints, draft→finalise) take over the call.
"""

from __future__ import annotations

import asyncio
import random
from collections.abc import Awaitable, Callable
from typing import Annotated, Any, Literal

from langgraph.types import RetryPolicy
from pydantic import (
    BaseModel,
    ConfigDict,
    Discriminator,
    Field,
    Tag,
    TypeAdapter,
    field_serializer,
    model_validator,
)

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
    model_config = ConfigDict(extra="forbid", validate_by_name=True, serialize_by_alias=True)

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


class _Policy(BaseModel):
    model_config = ConfigDict(extra="forbid")

    @field_serializer("options", check_fields=False)
    def _as_written(self, options: Any) -> Any:
        """Options serialise as they were written (no defaults filled in), so a plan, a
        policy card and a step's details read back exactly as they were given."""
        if isinstance(options, BaseModel):
            return options.model_dump(mode="json", by_alias=True, exclude_unset=True)
        return options

    def experts(self) -> list[str]:
        """The expert names its options refer to (voters, verifiers, finaliser, ...)."""
        return []


class SinglePolicy(_Policy):
    """The step's expert alone (what a policy card says when no structure paid off)."""

    kind: Literal["single"] = "single"
    options: SingleOptions = Field(default_factory=SingleOptions)


class LargePolicy(_Policy):
    """The large model alone."""

    kind: Literal["large"] = "large"
    options: LargeOptions = Field(default_factory=LargeOptions)

    def experts(self) -> list[str]:
        return [self.options.large]


class VotePolicy(_Policy):
    kind: Literal["vote"] = "vote"
    options: VoteOptions = Field(default_factory=VoteOptions)

    def experts(self) -> list[str]:
        return list(self.options.voters or [])


class VerifyPolicy(_Policy):
    kind: Literal["verify"] = "verify"
    options: VerifyOptions = Field(default_factory=VerifyOptions)

    def experts(self) -> list[str]:
        escalate = self.options.escalate
        return [*self.options.verifiers, *([escalate] if escalate and escalate != "human" else [])]


class CascadePolicy(_Policy):
    kind: Literal["cascade"] = "cascade"
    options: CascadeOptions = Field(default_factory=CascadeOptions)

    def experts(self) -> list[str]:
        return [self.options.large]


class HintsPolicy(_Policy):
    kind: Literal["hints"] = "hints"
    options: HintsOptions = Field(default_factory=HintsOptions)

    def experts(self) -> list[str]:
        return list(self.options.from_ or [])


class DraftFinalisePolicy(_Policy):
    kind: Literal["draft_finalise"] = "draft_finalise"
    options: DraftOptions = Field(default_factory=DraftOptions)

    def experts(self) -> list[str]:
        return [self.options.finaliser]


class CustomPolicy(_Policy):
    """A kind added with :func:`register_policy`: its options are its own to read."""

    kind: str = Field(min_length=1)
    options: dict[str, Any] = Field(default_factory=dict)

    @model_validator(mode="after")
    def _registered(self) -> CustomPolicy:
        if self.kind not in _POLICIES:
            raise ValueError(
                f"unknown policy kind {self.kind!r}; use one of "
                f"{', '.join(sorted({*BUILTIN_POLICIES, *_POLICIES}))}"
            )
        return self

    def experts(self) -> list[str]:
        o = self.options
        names = [str(n) for key in ("voters", "verifiers", "from") for n in o.get(key) or []]
        names += [str(o[key]) for key in ("large", "finaliser") if o.get(key)]
        if o.get("escalate") and o["escalate"] != "human":
            names.append(str(o["escalate"]))
        return names


# The built-in kinds and the options each accepts: a typo in an option is an error naming it
# and the policy (``policy.cascade.options.threshhold: Extra inputs are not permitted``).
BUILTIN_POLICIES: dict[str, type[_Policy]] = {
    "single": SinglePolicy,
    "large": LargePolicy,
    "vote": VotePolicy,
    "verify": VerifyPolicy,
    "cascade": CascadePolicy,
    "hints": HintsPolicy,
    "draft_finalise": DraftFinalisePolicy,
}
PolicySource = Literal["plan", "card", "default"]


def _policy_tag(value: Any) -> str:
    kind = value.get("kind") if isinstance(value, dict) else getattr(value, "kind", None)
    return kind if isinstance(kind, str) and kind in BUILTIN_POLICIES else "custom"


StepPolicy = Annotated[
    Annotated[SinglePolicy, Tag("single")]
    | Annotated[LargePolicy, Tag("large")]
    | Annotated[VotePolicy, Tag("vote")]
    | Annotated[VerifyPolicy, Tag("verify")]
    | Annotated[CascadePolicy, Tag("cascade")]
    | Annotated[HintsPolicy, Tag("hints")]
    | Annotated[DraftFinalisePolicy, Tag("draft_finalise")]
    | Annotated[CustomPolicy, Tag("custom")],
    Discriminator(_policy_tag),
]
"""A collaboration policy for one step: a kind and its options, one model per kind.

The built-in kinds (:data:`BUILTIN_POLICIES`) validate their options and refuse unknown ones;
a kind added with :func:`register_policy` takes any options (:class:`CustomPolicy`). Set it in
a Python workflow or a plan; when a step has none the dispatcher takes the expert's policy card
from the workspace (``podium bench TASK --write-policy``), else the expert's
``default_policy``. Build one with :func:`step_policy` or :func:`parse_policy`.
"""

_ADAPTER: TypeAdapter[StepPolicy] = TypeAdapter(StepPolicy, config=ConfigDict(title="StepPolicy"))


def parse_policy(value: Any) -> StepPolicy:
    """A policy from its JSON form (``{"kind": "vote", "options": {...}}``) or a policy."""
    return _ADAPTER.validate_python(value)


def step_policy(kind: str, options: dict[str, Any] | None = None) -> StepPolicy:
    """``step_policy("cascade", {"threshold": 0.6})``: the policy of that kind."""
    return parse_policy({"kind": kind, "options": options or {}})


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
