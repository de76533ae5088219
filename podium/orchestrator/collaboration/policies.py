"""The mechanisms as step policies: a plan step names one in ``policy`` and the dispatcher's
``execute_step`` hands the call over.

    Step(id="s1", expert="nl2sql", input="How many singers?",
         policy={"kind": "vote", "options": {"voters": ["nl2sql", "nl2sql", "large"],
                                             "mode": "quorum", "quorum": 2, "agree": "rows"}})

Expert names in options are registry names; ``"large"`` is the large model
(:class:`LargeModelExpert` on the workspace's ``large`` role). Options per kind:

- ``vote``: voters (default: the step's expert ×3), mode, quorum, agree (output | rows)
- ``verify``: verifiers (default ["large"]), consensus, max_rounds, escalate (name | "human")
- ``cascade``: large (default "large"), threshold (default 0.5), calibrator (JSON path)
- ``hints``: from (default [the step's expert]), enabled (default true), choices
- ``draft_finalise``: finaliser (default "large"), accept_above, max_repairs
- ``single``: the step's expert alone (what a policy card says when no structure paid off)
- ``large``: large (default "large"), alone

Each kind is its own model in :mod:`podium.orchestrator.policies` (``VotePolicy``,
``CascadePolicy``, ...): its options are validated when the step is built, an unknown option
is an error naming it and the policy, and the runners below read typed attributes.
"""

from __future__ import annotations

from typing import Any, Literal, TypeVar

from pydantic import BaseModel

from podium.errors import InputRejected
from podium.experts.base import Expert, ExpertContext, ExpertResult, primary_text_field
from podium.orchestrator.policies import (
    CascadePolicy,
    DraftFinalisePolicy,
    HintsPolicy,
    LargePolicy,
    PolicyRunner,
    StepPolicy,
    VerifyPolicy,
    VotePolicy,
)

from .agreement import agreement_named
from .calibration import Calibrator
from .cascade import cascade
from .draft import draft_finalise
from .hints import hints_from_results
from .llm import LargeModelExpert
from .verify import cross_verify
from .vote import VoteRule, vote

P = TypeVar("P", bound=BaseModel)


class Adapted(Expert):
    """An expert that takes another expert's request (re-parsed from its text)."""

    def __init__(self, inner: Expert) -> None:
        self.inner = inner
        self.name = inner.name  # type: ignore[misc]
        self.description = inner.description  # type: ignore[misc]
        self.calibrator = getattr(inner, "calibrator", None)

    async def arun(self, request: BaseModel, ctx: ExpertContext) -> ExpertResult:
        if isinstance(request, self.inner.input_model):
            return await self.inner.arun(request, ctx)
        field = primary_text_field(type(request))
        text = str(getattr(request, field)) if field else request.model_dump_json()
        return await self.inner.arun(self.inner.parse_input(text), ctx)


def resolve(name: str | Expert, runtime: Any, **large_options: Any) -> Expert:
    """An expert by registry name; ``"large"`` is the large model."""
    if isinstance(name, Expert):
        return Adapted(name)
    if name == "large":
        return LargeModelExpert(**large_options)
    registry = getattr(runtime, "registry", None)
    if registry is None:
        raise InputRejected(f"policy names expert {name!r} but no registry is available")
    return Adapted(registry.get(name))


def _ledger(runtime: Any) -> Any:
    return getattr(runtime, "ledger", None)


def _as(policy: StepPolicy, kind: type[P]) -> P:
    """The policy as its kind's model (the dispatcher hands each runner its own kind)."""
    if not isinstance(policy, kind):
        raise TypeError(f"a {policy.kind} policy was handed to the {kind.__name__} runner")
    return policy


async def _vote(
    expert: Expert, request: BaseModel, ctx: ExpertContext, policy: StepPolicy, runtime: Any
) -> ExpertResult:
    o = _as(policy, VotePolicy).options
    names = o.voters or [expert.name] * 3
    voters = [expert if n == expert.name else resolve(n, runtime) for n in names]
    rule = VoteRule(mode=o.mode, quorum=o.quorum, agree=agreement_named(o.agree))
    return await vote(voters, request, ctx, rule)


async def _verify(
    expert: Expert, request: BaseModel, ctx: ExpertContext, policy: StepPolicy, runtime: Any
) -> ExpertResult:
    o = _as(policy, VerifyPolicy).options
    verifiers = [resolve(n, runtime) for n in o.verifiers]
    esc = o.escalate
    escalate: Expert | Literal["human"] | None = (
        "human" if esc == "human" else (resolve(esc, runtime) if esc else None)
    )
    return await cross_verify(
        expert,
        verifiers,
        request,
        ctx,
        agree=agreement_named(o.agree),
        consensus=o.consensus,
        max_rounds=o.max_rounds,
        escalate=escalate,
        ledger=_ledger(runtime),
    )


async def _cascade(
    expert: Expert, request: BaseModel, ctx: ExpertContext, policy: StepPolicy, runtime: Any
) -> ExpertResult:
    o = _as(policy, CascadePolicy).options
    calibrator = Calibrator.load(o.calibrator) if o.calibrator else None
    return await cascade(
        expert,
        resolve(o.large, runtime),
        request,
        ctx,
        threshold=o.threshold,
        calibrator=calibrator,
        ledger=_ledger(runtime),
    )


async def _hints(
    expert: Expert, request: BaseModel, ctx: ExpertContext, policy: StepPolicy, runtime: Any
) -> ExpertResult:
    import dataclasses

    o = _as(policy, HintsPolicy).options
    sources = [
        expert if n == expert.name else resolve(n, runtime) for n in o.from_ or [expert.name]
    ]
    results = {s.name: await s.arun(request, ctx) for s in sources}
    large = LargeModelExpert(choices=o.choices)
    hctx = dataclasses.replace(
        ctx,
        options={
            **ctx.options,
            "hints": [h.model_dump() for h in hints_from_results(results)],
            "use_hints": o.enabled,
        },
    )
    answer = await large.arun(request, hctx)
    return answer.model_copy(
        update={
            "details": {
                "collaboration": {
                    "mechanism": "hints",
                    "enabled": o.enabled,
                    "sources": list(results),
                }
            }
        }
    )


async def _draft(
    expert: Expert, request: BaseModel, ctx: ExpertContext, policy: StepPolicy, runtime: Any
) -> ExpertResult:
    o = _as(policy, DraftFinalisePolicy).options
    return await draft_finalise(
        expert,
        resolve(o.finaliser, runtime),
        request,
        ctx,
        accept_above=o.accept_above,
        max_repairs=o.max_repairs,
        ledger=_ledger(runtime),
    )


async def _single(
    expert: Expert, request: BaseModel, ctx: ExpertContext, policy: StepPolicy, runtime: Any
) -> ExpertResult:
    return await expert.arun(request, ctx)


async def _large(
    expert: Expert, request: BaseModel, ctx: ExpertContext, policy: StepPolicy, runtime: Any
) -> ExpertResult:
    return await resolve(_as(policy, LargePolicy).options.large, runtime).arun(request, ctx)


# Registered by podium.orchestrator.collaboration.builtin where Podium is composed.
BUILTIN_POLICIES: dict[str, PolicyRunner] = {
    "single": _single,
    "large": _large,
    "vote": _vote,
    "verify": _verify,
    "cascade": _cascade,
    "hints": _hints,
    "draft_finalise": _draft,
}
