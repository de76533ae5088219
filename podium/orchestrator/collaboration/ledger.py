"""A ledger of collaboration decisions and of the large-model calls they saved.

Every cascade, vote, verification and draft→finalise decision is appended here (and sent as
an event to the run). ``summary()`` says how many large-model calls were made and how many
were saved against calling the large model every time.
"""

from __future__ import annotations

import threading
from typing import Any

from pydantic import BaseModel, Field


class Decision(BaseModel):
    """One decision of one mechanism."""

    mechanism: str = Field(description="cascade | vote | verify | hints | draft_finalise")
    decision: str = Field(description="accepted | escalated | agreed | unresolved | ...")
    step_id: str = ""
    confidence: float | None = None
    calibrated: float | None = None
    threshold: float | None = None
    large_calls: int = 0
    saved_large_calls: int = 0
    extra: dict[str, Any] = Field(default_factory=dict)


class DecisionLedger:
    """Thread-safe, append-only list of decisions."""

    def __init__(self) -> None:
        self._entries: list[Decision] = []
        self._lock = threading.Lock()

    def record(self, decision: Decision) -> Decision:
        with self._lock:
            self._entries.append(decision)
        return decision

    @property
    def entries(self) -> list[Decision]:
        with self._lock:
            return list(self._entries)

    def summary(self) -> dict[str, Any]:
        entries = self.entries
        counts: dict[str, int] = {}
        for e in entries:
            key = f"{e.mechanism}:{e.decision}"
            counts[key] = counts.get(key, 0) + 1
        return {
            "decisions": len(entries),
            "large_calls": sum(e.large_calls for e in entries),
            "saved_large_calls": sum(e.saved_large_calls for e in entries),
            "by_decision": counts,
        }

    def __len__(self) -> int:
        return len(self.entries)
