"""Cross-verification (as in CaLM): a generator and verifiers of a different size check each
other until a consensus rule holds or a round limit is reached.

Each round the generator answers and every verifier answers the same request independently;
answers are compared with an agreement function (semantic, see :mod:`.agreement`). On
dissent, the next round shows each side the other's answer through ``ctx.options``
(``draft`` = the answer under review, ``feedback`` = the dissenting answers), so experts that
read them (e.g. :class:`LargeModelExpert`) can revise. Unresolved after ``max_rounds``:
``escalate`` = an expert (the large model) answers with both sides as hints, or ``"human"``
(the result asks for approval), or ``None`` (the generator's answer stands, marked
unresolved, with its confidence halved). Rounds, flips (answers that changed between rounds)
and the final dissent are recorded.
"""

from __future__ import annotations

import asyncio
import dataclasses
from collections.abc import Sequence
from typing import Any, Literal

from pydantic import BaseModel

from podium.experts.base import Cost, Expert, ExpertContext, ExpertResult

from .agreement import Agreement, normalise, same_output
from .hints import hints_from_results
from .ledger import Decision, DecisionLedger
from .llm import LargeModelExpert

Consensus = Literal["all", "majority", "any"]


def _holds(agreeing: int, verifiers: int, rule: Consensus) -> bool:
    if rule == "all":
        return agreeing == verifiers
    if rule == "majority":
        return agreeing * 2 > verifiers
    return agreeing >= 1


async def cross_verify(
    generator: Expert,
    verifiers: Sequence[Expert],
    request: BaseModel,
    ctx: ExpertContext,
    *,
    agree: Agreement = same_output,
    consensus: Consensus = "all",
    max_rounds: int = 2,
    escalate: Expert | Literal["human"] | None = None,
    ledger: DecisionLedger | None = None,
) -> ExpertResult:
    """Run the loop; the result carries ``details['collaboration']`` with the outcome."""
    if not verifiers:
        raise ValueError("cross-verification needs at least one verifier")
    if max_rounds < 1:
        raise ValueError("max_rounds must be at least 1")
    if consensus not in ("all", "majority", "any"):
        raise ValueError(f"unknown consensus rule {consensus!r}: use all, majority or any")
    cost = Cost()
    history: list[dict[str, Any]] = []
    flips = 0
    previous: list[str] | None = None
    gen_ctx, ver_ctx = ctx, ctx
    answer = ExpertResult.failure("no round ran")
    checks: list[ExpertResult] = []
    for round_no in range(1, max_rounds + 1):
        answer, *checks = await asyncio.gather(
            generator.arun(request, gen_ctx), *(v.arun(request, ver_ctx) for v in verifiers)
        )
        cost = sum((r.cost for r in (answer, *checks)), cost)
        keys = [normalise(r.output) if r.ok else "<failed>" for r in (answer, *checks)]
        if previous is not None:
            flips += sum(a != b for a, b in zip(previous, keys, strict=True))
        previous = keys
        agreeing = sum(1 for c in checks if answer.ok and c.ok and agree(answer, c))
        history.append({"round": round_no, "answers": keys, "agreeing": agreeing})
        large = [
            c for v, c in zip(verifiers, checks, strict=True) if isinstance(v, LargeModelExpert)
        ]
        if large and answer.ok:  # did the large model, asked on its own, agree?
            agreed = all(c.ok and agree(answer, c) for c in large)
            ctx.emit(
                {"kind": "large_check", "mechanism": "verify", "round": round_no, "agreed": agreed}
            )
        if answer.ok and _holds(agreeing, len(verifiers), consensus):
            return _finish(answer, "agreed", history, flips, cost, ctx, ledger, 0)
        dissent = [c.text(300) for c in checks if not (c.ok and answer.ok and agree(answer, c))]
        gen_ctx = dataclasses.replace(
            ctx, options={**ctx.options, "draft": answer.text(300), "feedback": dissent}
        )
        ver_ctx = dataclasses.replace(
            ctx, options={**ctx.options, "draft": answer.text(300), "feedback": None}
        )
    if isinstance(escalate, Expert):
        named = {
            generator.name: answer,
            **{f"{v.name}#{i}": c for i, (v, c) in enumerate(zip(verifiers, checks, strict=True))},
        }
        hints = [h.model_dump() for h in hints_from_results(named)]
        final = await escalate.arun(
            request, dataclasses.replace(ctx, options={**ctx.options, "hints": hints})
        )
        return _finish(final, "escalated", history, flips, cost + final.cost, ctx, ledger, 1)
    if escalate == "human":
        asked = answer.model_copy(
            update={
                "needs_approval": "generator and verifiers still disagree after "
                f"{max_rounds} round(s); a person should decide"
            }
        )
        return _finish(asked, "to_human", history, flips, cost, ctx, ledger, 0)
    weak = answer.model_copy(update={"confidence": round(answer.confidence / 2, 4)})
    return _finish(weak, "unresolved", history, flips, cost, ctx, ledger, 0)


def _finish(
    result: ExpertResult,
    outcome: str,
    history: list[dict[str, Any]],
    flips: int,
    cost: Cost,
    ctx: ExpertContext,
    ledger: DecisionLedger | None,
    large_calls: int,
) -> ExpertResult:
    last = history[-1]
    info = {
        "mechanism": "verify",
        "outcome": outcome,
        "rounds": len(history),
        "flips": flips,
        "dissent": len(last["answers"]) - 1 - last["agreeing"],
        "history": history,
    }
    if ledger is not None:
        ledger.record(
            Decision(
                mechanism="verify",
                decision=outcome,
                step_id=ctx.step_id,
                confidence=result.confidence,
                large_calls=large_calls,
                extra={k: info[k] for k in ("rounds", "flips", "dissent")},
            )
        )
    ctx.emit({"kind": "verification", **{k: v for k, v in info.items() if k != "history"}})
    return result.model_copy(
        update={"cost": cost, "details": {**result.details, "collaboration": info}}
    )
