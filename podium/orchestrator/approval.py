"""The ``approval`` node: the run waits for a person, at a checkpoint, without losing work.

Steps ask for approval before they run (``Step.approve``, a workflow's choice) or after, when
an expert flags its result (``ExpertResult.needs_approval``, e.g. a query over the row limit).
``dispatch`` announces them; the graph comes here only when nothing else can run, so waiting
steps never hold up independent branches. Here the run is interrupted (LangGraph
``interrupt``) and resumed with ``Command(resume={step_id: bool | {"approved", "note"}})`` —
``Podium.resume(run_id, approvals=...)`` does that.
"""

from __future__ import annotations

from typing import Any

from langgraph.types import interrupt

from .events import ApprovalGiven, StepFinished, emit
from .state import RunState


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
