"""The ``approval`` node: the run waits for a person, at a checkpoint, without losing work.

Steps ask for approval before they run (``Step.approve``, a workflow's choice) or after, when
an expert flags its result (``ExpertResult.needs_approval``, e.g. a query over the row limit).
``dispatch`` announces them; the graph comes here only when nothing else can run, so waiting
steps never hold up independent branches. Here the run is interrupted (LangGraph
``interrupt``) and resumed with ``Command(resume={step_id: bool | {"approved", "note"}})`` —
``Podium.resume(run_id, approvals=...)`` does that.

A workspace asks too (``[approvals]`` in ``podium.toml``, :class:`~podium.workspace.ApprovalsSpec`):
:func:`asks_before` says why a step waits before it runs, :func:`asks_after` flags a result
with more rows than the workspace's limit.
"""

from __future__ import annotations

from typing import Any

from langgraph.types import interrupt

from podium.experts.base import ExpertResult
from podium.workspace import ApprovalsSpec, Workspace

from .events import ApprovalGiven, StepFinished, emit
from .state import RunState


def _policy(workspace: Workspace | None) -> ApprovalsSpec:
    return workspace.config.approvals if workspace is not None else ApprovalsSpec()


def asks_before(step: Any, workspace: Workspace | None) -> str | None:
    """Why ``step`` (a plan :class:`~podium.orchestrator.plan.Step`) waits for a person
    before it runs: the workflow marked it, or the workspace asks before its expert."""
    if step.approve:
        return "the workflow asks before this step"
    if step.expert in _policy(workspace).before:
        return f"this workspace asks before every {step.expert} step ([approvals] before)"
    return None


def asks_after(result: ExpertResult, workspace: Workspace | None) -> ExpertResult:
    """``result``, asking for approval before the run uses it when it has more rows than the
    workspace's ``[approvals] max_rows``; unchanged otherwise (a failed result, one the
    expert already flagged, or no limit set)."""
    limit = _policy(workspace).max_rows
    if limit is None or not result.ok or result.needs_approval:
        return result
    rows = result_rows(result)
    if rows is None or rows <= limit:
        return result
    reason = f"{rows:,} rows, over this workspace's limit of {limit:,} ([approvals] max_rows)"
    return result.model_copy(update={"needs_approval": reason})


def result_rows(result: ExpertResult) -> int | None:
    """How many rows a result has: its output's ``row_count`` (what nl2sql returns; at most
    the database's row cap), else its ``rows`` evidence's; ``None`` for results without rows."""
    output = result.output
    if isinstance(output, dict) and isinstance(output.get("row_count"), int):
        return int(output["row_count"])
    counts = [
        e.metadata["row_count"]
        for e in result.evidence
        if e.kind == "rows" and isinstance(e.metadata.get("row_count"), int)
    ]
    return max(counts) if counts else None


def pending_approvals(state: RunState) -> list[dict[str, Any]]:
    return [
        {"step_id": sid, **{k: v for k, v in ask.items() if k != "asked"}}
        for sid, ask in state.get("approvals", {}).items()
        if "approved" not in ask
    ]


def approval_node(state: RunState) -> dict[str, Any]:
    pending = pending_approvals(state)
    answers = interrupt({"pending": pending}) or {}
    approvals: dict[str, dict[str, Any]] = {}
    results: dict[str, Any] = {}
    for item in pending:
        sid = item["step_id"]
        if sid not in answers:
            continue  # still waiting; the graph comes back here
        answer = answers[sid]
        approved = bool(answer.get("approved")) if isinstance(answer, dict) else bool(answer)
        note = str(answer.get("note", "")) if isinstance(answer, dict) else ""
        approvals[sid] = {**state["approvals"][sid], "approved": approved, "note": note}
        emit(ApprovalGiven(run_id=state["run_id"], step_id=sid, approved=approved, note=note))
        if item["when"] == "after":
            outcome = state["results"][sid].copy()
            outcome["status"] = "ok" if approved else "failed"
            if not approved:
                outcome["error"] = f"result rejected: {note or 'not approved'}"
            results[sid] = outcome
            emit(
                StepFinished(
                    run_id=state["run_id"],
                    step_id=sid,
                    expert=outcome["expert"],
                    status=outcome["status"],
                    output=outcome["output"],
                    confidence=outcome["confidence"],
                    cost=outcome["cost"],
                    error=outcome["error"],
                    evidence=len(outcome["evidence"]),
                )
            )
    update: dict[str, Any] = {"approvals": approvals}
    if results:
        update["results"] = results
    return update
