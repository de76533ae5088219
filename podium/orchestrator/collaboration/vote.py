"""Vote: several experts, models or samples answer the same subtask (a parallel ensemble).

Rules: ``majority`` (plurality; stops early once a strict majority of all voters agrees),
``weighted`` (confidence-weighted; stops once the leader cannot be overtaken even if every
pending voter joins the runner-up with weight 1) and ``quorum`` (k-of-n: the first answer
``k`` voters agree on wins at once). When the outcome is decided the stragglers are
cancelled; a failed voter is recorded and left out of the count. Agreement is semantic
(see :mod:`.agreement`). The result records the votes, the agreement margin and the entropy
of the vote distribution (bits).

Synchronous experts run on a thread pool: cancelling their task stops Podium waiting for
them (the result is dropped), but Python cannot interrupt the thread itself.
"""

from __future__ import annotations

import asyncio
import math
from collections.abc import Awaitable, Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Literal

from pydantic import BaseModel

from podium.experts.base import Cost, Expert, ExpertContext, ExpertResult

from .agreement import Agreement, group, same_output

Call = Callable[[], Awaitable[ExpertResult]]
VoteMode = Literal["majority", "weighted", "quorum"]


@dataclass(frozen=True)
class VoteRule:
    """How a vote is decided.

    ``mode``: majority | weighted | quorum. ``quorum``: k for k-of-n (required for quorum).
    ``agree``: when two answers count as the same (default: equal in normalised form).
    """

    mode: VoteMode = "majority"
    quorum: int | None = None
    agree: Agreement = field(default=same_output)

    def __post_init__(self) -> None:
        if self.mode not in ("majority", "weighted", "quorum"):
            raise ValueError(f"unknown vote mode {self.mode!r}: use majority, weighted or quorum")
        if self.mode == "quorum" and (self.quorum is None or self.quorum < 1):
            raise ValueError("a quorum vote needs quorum=k with k >= 1")


async def vote(
    experts: Sequence[Expert],
    request: BaseModel,
    ctx: ExpertContext,
    rule: VoteRule | None = None,
) -> ExpertResult:
    """Ask every expert (repeat one to vote over samples) and decide by ``rule``."""
    calls: dict[str, Call] = {}
    for i, exp in enumerate(experts):
        name = exp.name if exp.name not in calls else f"{exp.name}#{i}"
        calls[name] = _bind(exp, request, ctx)
    return await vote_calls(calls, rule)


def _bind(exp: Expert, request: BaseModel, ctx: ExpertContext) -> Call:
    return lambda: exp.arun(request, ctx)


async def vote_calls(calls: Mapping[str, Call], rule: VoteRule | None = None) -> ExpertResult:
    """The vote itself, over named async calls that each return an ExpertResult."""
    rule = rule or VoteRule()
    n = len(calls)
    if n == 0:
        raise ValueError("a vote needs at least one voter")
    if rule.mode == "quorum" and rule.quorum and rule.quorum > n:
        raise ValueError(f"quorum {rule.quorum} is larger than the {n} voters")
    tasks = {asyncio.ensure_future(call()): name for name, call in calls.items()}
    done_names: list[str] = []
    ok: list[ExpertResult] = []
    ok_names: list[str] = []
    failed: dict[str, str] = {}
    cost = Cost()
    pending = set(tasks)
    try:
        while pending:
            finished, pending = await asyncio.wait(pending, return_when=asyncio.FIRST_COMPLETED)
            for task in finished:
                name = tasks[task]
                done_names.append(name)
                try:
                    result = task.result()
                except Exception as exc:  # a voter may fail in any way; the vote goes on
                    failed[name] = f"{type(exc).__name__}: {exc}"
                    continue
                cost = cost + result.cost
                if result.ok:
                    ok.append(result)
                    ok_names.append(name)
                else:
                    failed[name] = result.error or "failed"
            if ok and _decided(ok, rule, n, len(pending)):
                break
    finally:
        for task in pending:
            task.cancel()
        if pending:
            await asyncio.gather(*pending, return_exceptions=True)
    cancelled = sorted(tasks[t] for t in pending)
    return _outcome(ok, ok_names, failed, cancelled, rule, n, cost)


def _weights(
    results: Sequence[ExpertResult], groups: list[list[int]], weighted: bool
) -> list[float]:
    return [sum(results[i].confidence if weighted else 1.0 for i in g) for g in groups]


def _decided(ok: list[ExpertResult], rule: VoteRule, n: int, pending: int) -> bool:
    groups = group(ok, rule.agree)
    sizes = sorted((len(g) for g in groups), reverse=True)
    if rule.mode == "quorum":
        return sizes[0] >= (rule.quorum or n)
    if rule.mode == "majority":
        return sizes[0] >= n // 2 + 1
    weights = sorted(_weights(ok, groups, weighted=True), reverse=True)
    runner_up = weights[1] if len(weights) > 1 else 0.0
    return weights[0] > 0 and weights[0] > runner_up + pending


def _outcome(
    ok: list[ExpertResult],
    names: list[str],
    failed: dict[str, str],
    cancelled: list[str],
    rule: VoteRule,
    n: int,
    cost: Cost,
) -> ExpertResult:
    details: dict[str, object] = {
        "mechanism": "vote",
        "mode": rule.mode,
        "voters": n,
        "failed": failed,
        "cancelled": cancelled,
    }
    if not ok:
        reasons = "; ".join(f"{k}: {v}" for k, v in failed.items())
        return ExpertResult(
            error=f"every voter failed ({reasons})", cost=cost, details=details, confidence=0.0
        )
    groups = group(ok, rule.agree)
    weighted = rule.mode == "weighted"
    weights = _weights(ok, groups, weighted)
    order = sorted(range(len(groups)), key=lambda i: (weights[i], len(groups[i])), reverse=True)
    total = sum(weights) or 1.0
    shares = [weights[i] / total for i in order]
    win = groups[order[0]]
    best = max(win, key=lambda i: ok[i].confidence)
    details.update(
        votes=[
            {"voter": names[i], "group": gi, "confidence": ok[i].confidence}
            for gi, g in enumerate(groups)
            for i in g
        ],
        groups=[len(groups[i]) for i in order],
        winners=[names[i] for i in win],
        margin=round(shares[0] - (shares[1] if len(shares) > 1 else 0.0), 4),
        entropy=round(-sum(p * math.log2(p) for p in shares if p > 0), 4),
    )
    if rule.mode == "quorum" and len(win) < (rule.quorum or n):
        details["quorum_reached"] = False
        return ExpertResult(
            error=f"no {rule.quorum} of {n} voters agreed (largest group: {len(win)})",
            cost=cost,
            details=details,
        )
    chosen = ok[best]
    return chosen.model_copy(
        update={
            "confidence": round(min(1.0, shares[0]), 4),
            "cost": cost,
            "details": {**chosen.details, "collaboration": details},
        }
    )
