"""One shape for a run, wherever it is read.

:class:`RunRecord` is what ``Podium.run`` returns (as :class:`~podium.runner.RunResult`, which
adds the in-memory ledger), what the run store reads back, what ``podium run --json`` and
``podium runs show --json`` print, what ``GET /api/runs/{id}`` serves and what the OpenAI API
carries in its ``podium`` field. Its JSON Schema is published in ``docs/run-record.schema.json``;
regenerate it from the repository root with
``python -c 'import podium.records as r; r.write_schema()'``.

Every record also reads like the plain dict it replaced: ``step["expert"]`` is ``step.expert``
and ``run.get("answer")`` is ``run.answer`` (see :meth:`Record.__getitem__`).

This module depends on pydantic only, so every layer (store, runner, server, CLI) can use it.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field

RunStatus = Literal["running", "done", "partial", "blocked", "failed", "awaiting_approval"]
StepStatus = Literal["running", "ok", "failed", "skipped", "awaiting_approval"]


class Record(BaseModel):
    """A closed JSON object (unknown keys are an error) that also reads like a dict.

    ``record["name"]`` and ``record.get("name", default)`` read the field ``name``; they are
    kept so that code written when runs were plain dicts (``step["confidence"]``) still works.
    New code can use attributes.
    """

    model_config = ConfigDict(extra="forbid")

    def __getitem__(self, key: str) -> Any:
        if key in type(self).model_fields:
            return getattr(self, key)
        raise KeyError(key)

    def __contains__(self, key: object) -> bool:
        return isinstance(key, str) and key in type(self).model_fields

    def get(self, key: str, default: Any = None) -> Any:
        return getattr(self, key) if key in type(self).model_fields else default


class PolicyRecord(Record):
    """A step's collaboration policy as the plan states it (validated per kind by
    ``podium.orchestrator.policies`` before the plan runs)."""

    kind: str
    options: dict[str, Any] = Field(default_factory=dict)


class PlanStepRecord(Record):
    """One planned step: which expert, what to do, and what it waits for."""

    id: str
    expert: str
    input: str
    depends_on: list[str] = Field(default_factory=list)
    args: dict[str, Any] = Field(default_factory=dict)
    approve: bool = False
    policy: PolicyRecord | None = None


class PlanRecord(Record):
    """The plan the run followed."""

    steps: list[PlanStepRecord] = Field(default_factory=list)
    notes: list[str] = Field(
        default_factory=list, description="Corrections the semantic router made, and why."
    )


class StepCost(Record):
    """What one step spent."""

    model: str = ""
    input_tokens: int = 0
    output_tokens: int = 0
    ms: float = 0.0
    large_calls: int = 0


class RunCost(Record):
    """What the whole run spent (the sum of its ledger)."""

    input_tokens: int = 0
    output_tokens: int = 0
    ms: float = 0.0
    large_calls: int = 0
    model_calls: int = 0


class EvidenceRecord(Record):
    """Something a step's answer can be checked against: a passage, rows, a query."""

    kind: str
    text: str
    source: str = ""
    score: float | None = None
    metadata: dict[str, Any] = Field(default_factory=dict)


class StepRecord(Record):
    """What one step did. ``summary``, ``evidence`` and ``details`` are known to the process
    that ran the step; the run store keeps the rest (they read back empty from it)."""

    step_id: str
    expert: str
    input: str = ""
    status: StepStatus
    output: Any = None
    summary: str | None = None
    confidence: float = 0.0
    evidence: list[EvidenceRecord] = Field(default_factory=list)
    cost: StepCost = Field(default_factory=StepCost)
    error: str | None = None
    details: dict[str, Any] = Field(default_factory=dict)


class VerdictRecord(Record):
    """What one guardian decided, at which stage (in: the task, out: the answer, step: a
    step's evidence)."""

    stage: Literal["in", "out", "step"]
    guardian: str
    action: Literal["allow", "flag", "block", "transform"]
    category: str = ""
    score: float = 0.0
    reason: str = ""

    @classmethod
    def of(cls, data: dict[str, Any]) -> VerdictRecord:
        """The record of a verdict event or a state verdict (other keys are left out)."""
        return cls.model_validate({k: data[k] for k in cls.model_fields if k in data})


class PendingApproval(Record):
    """A step waiting for a person: before it runs, or before its result is used."""

    step_id: str
    expert: str
    input: str
    when: Literal["before", "after"]
    reason: str = ""
    output: Any = None


class RunSummary(Record):
    """A run in a list: what was asked, how it ended, what it cost."""

    run_id: str
    task: str
    status: RunStatus
    answer: str | None = None
    error: str | None = None
    plan: PlanRecord | None = Field(
        default=None, description="None when the run ended before a plan was made."
    )
    cost: RunCost = Field(default_factory=RunCost)
    planner: str = ""
    workspace: str = ""
    conversation_id: str | None = None
    created_at: float | None = Field(default=None, description="Unix time the run started.")
    finished_at: float | None = Field(
        default=None, description="Unix time its last leg ended (None while it runs)."
    )


class RunRecord(RunSummary):
    """A whole run: its summary, every step, every guardian verdict, what it waits for, and
    every event in order (``seq`` 1, 2, ...)."""

    steps: list[StepRecord] = Field(default_factory=list)
    verdicts: list[VerdictRecord] = Field(default_factory=list)
    pending_approvals: list[PendingApproval] = Field(
        default_factory=list,
        description="Steps waiting for a person (status 'awaiting_approval'); answer with "
        "Podium.resume(run_id, approvals={step_id: True/False}).",
    )
    trace_id: str | None = Field(
        default=None, description="The OpenTelemetry trace of this run (when tracing is on)."
    )
    events: list[dict[str, Any]] = Field(
        default_factory=list,
        description="Every event of the run in order (podium.orchestrator.events).",
    )
    live: bool = Field(
        default=False, description="True while a server is still running it (server only)."
    )

    def to_json_dict(self) -> dict[str, Any]:
        """The JSON form (what ``podium run --json`` prints)."""
        return self.model_dump(mode="json")


SCHEMA_FILE = "docs/run-record.schema.json"
REGENERATE = "python -c 'import podium.records as r; r.write_schema()'"


def run_record_schema() -> dict[str, Any]:
    """The JSON Schema of :class:`RunRecord` (published as ``docs/run-record.schema.json``)."""
    return RunRecord.model_json_schema()


def schema_text() -> str:
    """The schema file's exact text."""
    return json.dumps(run_record_schema(), indent=2, sort_keys=True) + "\n"


def write_schema(path: str | Path = SCHEMA_FILE) -> None:
    """Write the schema file (run from the repository root: :data:`REGENERATE`)."""
    Path(path).write_text(schema_text(), encoding="utf-8")
