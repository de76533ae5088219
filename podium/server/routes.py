"""Runs and conversations over HTTP.

POST /api/runs                    {"message", "conversation_id"?} -> {"run_id", ...}
GET  /api/runs/{id}/events        SSE: every event of the run (``?after=seq`` to catch up)
GET  /api/runs                    recent runs, newest first: {"runs": [RunSummary]}
GET  /api/runs/{id}               the run (podium.records.RunRecord): plan, steps, answer, events
POST /api/runs/{id}/approve       {"approvals": {"s2": true}} -> the run continues
POST /api/runs/{id}/resume        continue an interrupted run from its checkpoint
GET  /api/conversations           newest first; POST creates one; GET /{id} reads one;
                                  PATCH /{id} {"title"} renames it; DELETE /{id} deletes it
"""

from __future__ import annotations

from typing import Any

import sqlalchemy as sa
from fastapi import APIRouter, Header, Query, Request
from sqlalchemy.orm import Session
from sse_starlette.sse import EventSourceResponse

from podium.guardians import check_text
from podium.memory.tables import RunRow
from podium.records import PendingApproval, RunRecord

from .runs import RunHub
from .schemas import (
    ApprovalRequest,
    ConversationCreate,
    ConversationRename,
    RunList,
    RunRequest,
)
from .sse import event_stream, parse_last_event_id

router = APIRouter(prefix="/api", tags=["runs"])


def _hub(request: Request) -> RunHub:
    return request.app.state.hub


def _started(channel: Any) -> dict[str, Any]:
    return {
        "run_id": channel.run_id,
        "conversation_id": channel.conversation_id,
        "events_url": f"/api/runs/{channel.run_id}/events",
    }


@router.get("/info")
async def info(request: Request) -> dict[str, Any]:
    """What the page needs before anything else (open even when a token is required)."""
    podium = _hub(request).podium
    return {
        "workspace": podium.workspace.name,
        "planner": podium.planner_label,
        "token_required": request.app.state.token_required,
        "max_task_chars": podium.limits.max_task_chars,
    }


@router.post("/runs", status_code=202)
async def start_run(body: RunRequest, request: Request) -> dict[str, Any]:
    hub = _hub(request)
    # Refuse bad text before a conversation is created for it.
    text = check_text(body.message, max_chars=hub.podium.limits.max_task_chars)
    conversation_id = body.conversation_id or hub.podium.conversations.create(text[:80])
    channel = await hub.start(text, conversation_id=conversation_id)
    return _started(channel)


@router.get("/runs", response_model=RunList)
async def list_runs(request: Request, limit: int = Query(20, ge=1, le=200)) -> RunList:
    store = _hub(request).podium.store
    return RunList(runs=store.list_runs(limit) if store else [])


@router.get("/runs/{run_id}", response_model=RunRecord)
async def get_run(run_id: str, request: Request) -> RunRecord:
    """The run (:class:`~podium.records.RunRecord`); a paused run's pending steps are read
    from its checkpoint, which is what an answer to them is checked against."""
    hub = _hub(request)
    run = hub.get(run_id)
    if run.status == "awaiting_approval":
        pending = await hub.podium.pending_approvals(run.run_id)
        run = run.model_copy(
            update={"pending_approvals": [PendingApproval.model_validate(p) for p in pending]}
        )
    return run


@router.get("/runs/{run_id}/events")
async def run_events(
    run_id: str,
    request: Request,
    after: int | None = Query(None, ge=0, description="Only events with a larger seq."),
    last_event_id: str | None = Header(None),
) -> EventSourceResponse:
    channel = _hub(request).channel(run_id)
    return event_stream(channel, parse_last_event_id(last_event_id, after))


@router.post("/runs/{run_id}/approve", status_code=202)
async def approve(run_id: str, body: ApprovalRequest, request: Request) -> dict[str, Any]:
    channel = await _hub(request).resume(run_id, body.as_runner_input())
    return _started(channel)


@router.post("/runs/{run_id}/resume", status_code=202)
async def resume(run_id: str, request: Request) -> dict[str, Any]:
    channel = await _hub(request).resume(run_id)
    return _started(channel)


# -- conversations ------------------------------------------------------------------------


@router.get("/conversations")
async def list_conversations(
    request: Request, limit: int = Query(50, ge=1, le=500)
) -> dict[str, Any]:
    return {"conversations": _hub(request).podium.conversations.list(limit)}


@router.post("/conversations", status_code=201)
async def create_conversation(body: ConversationCreate, request: Request) -> dict[str, Any]:
    return {"id": _hub(request).podium.conversations.create(body.title)}


@router.get("/conversations/{conversation_id}")
async def get_conversation(conversation_id: str, request: Request) -> dict[str, Any]:
    """Its turns, and its runs (a run waiting for approval is a run without a turn yet)."""
    podium = _hub(request).podium
    messages = podium.conversations.messages(conversation_id)
    runs: list[dict[str, Any]] = []
    if podium.store:
        with Session(podium.store.engine) as s:
            rows = s.scalars(
                sa.select(RunRow)
                .where(RunRow.conversation_id == conversation_id)
                .order_by(RunRow.created_at)
            ).all()
            runs = [
                {"id": r.id, "task": r.task, "status": r.status, "answer": r.answer} for r in rows
            ]
    return {"id": conversation_id, "messages": messages, "runs": runs}


@router.patch("/conversations/{conversation_id}")
async def rename_conversation(
    conversation_id: str, body: ConversationRename, request: Request
) -> dict[str, Any]:
    _hub(request).podium.conversations.rename(conversation_id, body.title.strip())
    return {"id": conversation_id, "title": body.title.strip()}


@router.delete("/conversations/{conversation_id}", status_code=204)
async def delete_conversation(conversation_id: str, request: Request) -> None:
    _hub(request).podium.conversations.delete(conversation_id)
