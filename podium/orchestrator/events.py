"""Typed events: every node says what it did, and the CLI, the chat page and the store all
read the same stream.

Nodes call :func:`emit`; inside a LangGraph run the event goes to the ``custom`` stream, where
:class:`~podium.runner.Podium` numbers it, stores it and hands it to listeners.
"""

from __future__ import annotations

import time
from typing import Annotated, Any, Literal

from langgraph.config import get_stream_writer
from pydantic import BaseModel, Field, TypeAdapter


class _Event(BaseModel):
    run_id: str = ""
    ts: float = Field(default_factory=time.time)
    seq: int = 0


class RunStarted(_Event):
    type: Literal["run_started"] = "run_started"
    task: str
    planner: str = ""
    workspace: str = ""
    trace_id: str | None = None  # the OpenTelemetry trace, when tracing is on


class GuardVerdict(_Event):
    type: Literal["verdict"] = "verdict"
    stage: Literal["in", "out", "step"]  # step: a step's evidence screened for injection
    guardian: str
    action: Literal["allow", "flag", "block", "transform"]
    category: str = ""
    score: float = 0.0
    reason: str = ""
    ms: float = 0.0


class FollowUpRewritten(_Event):
    """A follow-up question, rewritten to stand on its own before planning (``how``:
    ``rewritten`` by the model, or sent on ``with the earlier question`` beside it)."""

    type: Literal["followup"] = "followup"
    original: str
    task: str
    earlier: str = ""
    how: Literal["rewritten", "with the earlier question"] = "rewritten"
    problems: list[str] = Field(default_factory=list)


class PlanRetry(_Event):
    type: Literal["plan_retry"] = "plan_retry"
    attempt: int
    problems: list[str]


class PlanReady(_Event):
    type: Literal["plan"] = "plan"
    plan: dict[str, Any]
    attempts: int = 1
    notes: list[str] = Field(default_factory=list)
    cost: dict[str, Any] = Field(default_factory=dict)
    # Who planned: "router" (the planner cascade was sure) or "model"; and why.
    planned_by: Literal["router", "model"] = "model"
    cascade: str = ""


class StepStarted(_Event):
    type: Literal["step_started"] = "step_started"
    step_id: str
    expert: str
    input: str


class StepFinished(_Event):
    type: Literal["step_finished"] = "step_finished"
    step_id: str
    expert: str
    status: Literal["ok", "failed", "skipped", "awaiting_approval"]
    output: Any = None
    confidence: float = 0.0
    cost: dict[str, Any] = Field(default_factory=dict)
    error: str | None = None
    evidence: int = 0


class ExpertNote(_Event):
    """Something an expert wants shown while it works (a candidate query, a vote, ...)."""

    type: Literal["expert_note"] = "expert_note"
    step_id: str = ""
    expert: str = ""
    kind: str
    data: dict[str, Any] = Field(default_factory=dict)


class ApprovalRequired(_Event):
    """A step waits for a person: before it runs (``when="before"``) or before its result is
    used (``when="after"``). Answer with ``Podium.resume(run_id, approvals={step_id: bool})``."""

    type: Literal["approval_required"] = "approval_required"
    step_id: str
    expert: str
    input: str
    when: Literal["before", "after"]
    reason: str = ""
    output: Any = None


class ApprovalGiven(_Event):
    type: Literal["approval"] = "approval"
    step_id: str
    approved: bool
    note: str = ""


class RunPaused(_Event):
    """The run stopped at a checkpoint to wait for approvals; nothing is lost."""

    type: Literal["run_paused"] = "run_paused"
    pending: list[dict[str, Any]] = Field(default_factory=list)
    trace_id: str | None = None


class AnswerToken(_Event):
    type: Literal["token"] = "token"
    text: str


class AnswerReady(_Event):
    type: Literal["answer"] = "answer"
    text: str
    cost: dict[str, Any] = Field(default_factory=dict)


class RunFinished(_Event):
    type: Literal["run_finished"] = "run_finished"
    status: Literal["done", "blocked", "failed", "partial"]
    answer: str | None = None
    error: str | None = None
    cost: dict[str, Any] = Field(default_factory=dict)
    trace_id: str | None = None


Event = Annotated[
    RunStarted
    | GuardVerdict
    | FollowUpRewritten
    | PlanRetry
    | PlanReady
    | StepStarted
    | StepFinished
    | ExpertNote
    | ApprovalRequired
    | ApprovalGiven
    | RunPaused
    | AnswerToken
    | AnswerReady
    | RunFinished,
    Field(discriminator="type"),
]
EVENT_ADAPTER: TypeAdapter[Event] = TypeAdapter(Event)


def parse_event(data: dict[str, Any]) -> Event:
    return EVENT_ADAPTER.validate_python(data)


def emit(event: _Event) -> None:
    """Send an event to the current run's stream (a no-op outside a graph run)."""
    try:
        writer = get_stream_writer()
    except RuntimeError:
        return
    # The model's own serializer, without ``model_dump``'s argument handling: the same dict,
    # and half the cost on the step path (two events per step).
    writer(event.__pydantic_serializer__.to_python(event, mode="json"))
