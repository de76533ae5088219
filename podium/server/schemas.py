"""Request and response bodies of the HTTP API (pydantic: bad input fails early and precisely)."""

from __future__ import annotations

from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field

from podium.records import RunSummary


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid")


class RunRequest(_Strict):
    """Start a run. Without ``conversation_id`` a new conversation is created for it."""

    message: str = Field(min_length=1, description="The task, in words.")
    conversation_id: str | None = Field(default=None, max_length=64)


class RunList(_Strict):
    """``GET /api/runs``: recent runs, newest first."""

    runs: list[RunSummary]


class Decision(_Strict):
    approved: bool
    note: str = Field(default="", max_length=2000)


class ApprovalRequest(_Strict):
    """Answers for the steps a paused run waits on: ``{"s2": true}`` or with a note."""

    approvals: dict[str, bool | Decision] = Field(min_length=1)

    def as_runner_input(self) -> dict[str, Any]:
        return {
            sid: d.model_dump() if isinstance(d, Decision) else {"approved": d, "note": ""}
            for sid, d in self.approvals.items()
        }


class ConversationCreate(_Strict):
    title: str = Field(default="", max_length=200)


class ConversationRename(_Strict):
    title: str = Field(min_length=1, max_length=200, pattern=r"\S")


class DatabaseConnect(_Strict):
    name: str = Field(pattern=r"^[A-Za-z_][\w-]*$", max_length=64)
    url: str = Field(min_length=1, max_length=2000, description="SQLAlchemy URL.")
    description: str = Field(default="", max_length=500)


# -- OpenAI-compatible ------------------------------------------------------------------------


class ChatMessage(BaseModel):
    model_config = ConfigDict(extra="allow")

    role: Literal["system", "user", "assistant", "tool", "developer"]
    content: str | list[dict[str, Any]] | None = None

    def text(self) -> str:
        if isinstance(self.content, list):
            return "".join(p.get("text", "") for p in self.content if p.get("type") == "text")
        return self.content or ""


class ChatCompletionRequest(BaseModel):
    """The subset of OpenAI's chat completion request Podium uses; other fields are accepted
    and ignored (temperature, max_tokens, ...), as OpenAI-compatible servers do."""

    model_config = ConfigDict(extra="allow")

    model: str = "podium"
    messages: list[ChatMessage] = Field(min_length=1)
    stream: bool = False
    conversation_id: str | None = Field(
        default=None,
        max_length=64,
        description="Podium extra (send with extra_body): append the turn to this conversation.",
    )
