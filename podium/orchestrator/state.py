"""The run state: plain data with merge rules.

Every list/dict field carries its reducer in its type, so parallel steps merge without locks:
what a node returns is what changes. Values are JSON-ready dicts (not live objects) so that
the checkpointer can store them and a resumed run sees exactly what the interrupted one saw.
"""

from __future__ import annotations

import operator
from typing import Annotated, Any, Literal, NotRequired, TypedDict

from langchain_core.messages import AnyMessage
from langgraph.graph.message import add_messages

from podium.experts.base import Cost, Evidence, ExpertResult

StepStatus = Literal["ok", "failed", "skipped", "awaiting_approval"]


class StepOutcome(TypedDict):
    """What one step produced; the JSON form of an ExpertResult plus where it came from."""

    step_id: str
    expert: str
    input: str
    status: StepStatus
    output: Any
    summary: str | None
    confidence: float
    evidence: list[dict[str, Any]]
    cost: dict[str, Any]
    error: str | None
    details: dict[str, Any]


class LedgerEntry(TypedDict):
    """One model-using action of the run: who spent what, and why."""

    node: str
    step_id: NotRequired[str]
    model: str
    input_tokens: int
    output_tokens: int
    ms: float
    large_calls: int
    decision: NotRequired[str]
    policy: NotRequired[str]  # the collaboration policy's kind, when the step had one
    policy_source: NotRequired[str]  # plan | card | default
    collaboration: NotRequired[str]  # what it decided: accepted, escalated, agreed, ...


def merge_dicts(left: dict[str, Any] | None, right: dict[str, Any] | None) -> dict[str, Any]:
    return {**(left or {}), **(right or {})}


class RunState(TypedDict, total=False):
    run_id: str
    task: str
    messages: Annotated[list[AnyMessage], add_messages]
    plan: dict[str, Any] | None
    results: Annotated[dict[str, StepOutcome], merge_dicts]
    verdicts: Annotated[list[dict[str, Any]], operator.add]
    approvals: Annotated[dict[str, dict[str, Any]], merge_dicts]
    # Steps added for a request another step could not answer -> that step (fallback.py)
    fallbacks: Annotated[dict[str, str], merge_dicts]
    ledger: Annotated[list[LedgerEntry], operator.add]
    answer: str | None
    started_at: float
    stopped: str | None
    status: Literal["running", "blocked", "failed", "done", "partial", "awaiting_approval"]
    error: str | None


class StepTask(TypedDict):
    """What ``dispatch`` sends to one ``step`` (the payload of a LangGraph ``Send``)."""

    run_id: str
    task: str
    step: dict[str, Any]
    dependencies: dict[str, StepOutcome]


def outcome_from_result(step_id: str, expert: str, text: str, result: ExpertResult) -> StepOutcome:
    return StepOutcome(
        step_id=step_id,
        expert=expert,
        input=text,
        status="failed"
        if not result.ok
        else ("awaiting_approval" if result.needs_approval else "ok"),
        output=result.output,
        summary=result.summary,
        confidence=result.confidence,
        evidence=[e.model_dump(mode="json") for e in result.evidence],
        cost=result.cost.model_dump(mode="json"),
        error=result.error,
        details={
            **result.details,
            **({"approval_reason": result.needs_approval} if result.needs_approval else {}),
        },
    )


def result_from_outcome(outcome: StepOutcome) -> ExpertResult:
    return ExpertResult(
        output=outcome["output"],
        summary=outcome.get("summary"),
        confidence=outcome["confidence"],
        evidence=[Evidence.model_validate(e) for e in outcome["evidence"]],
        cost=Cost.model_validate(outcome["cost"]),
        error=outcome["error"],
        details=outcome.get("details", {}),
    )


def ledger_entry(node: str, cost: Cost, **extra: Any) -> LedgerEntry:
    entry = LedgerEntry(
        node=node,
        model=cost.model,
        input_tokens=cost.input_tokens,
        output_tokens=cost.output_tokens,
        ms=round(cost.ms, 2),
        large_calls=cost.large_calls,
    )
    entry.update(extra)  # type: ignore[typeddict-item]
    return entry


def total_cost(ledger: list[LedgerEntry]) -> dict[str, Any]:
    return {
        "input_tokens": sum(e["input_tokens"] for e in ledger),
        "output_tokens": sum(e["output_tokens"] for e in ledger),
        "ms": round(sum(e["ms"] for e in ledger), 2),
        "large_calls": sum(e["large_calls"] for e in ledger),
        "model_calls": len([e for e in ledger if e["model"]]),
    }
