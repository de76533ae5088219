"""Every failure Podium reports has its own class and a message that says what to do next.

The CLI prints ``str(error)``; the server turns ``error.http_status`` into a response. A user
who catches ``PodiumError`` catches everything Podium raises on purpose.
"""

from __future__ import annotations


class PodiumError(Exception):
    """Root of Podium's errors. ``hint`` is the next thing the user should try."""

    http_status: int = 500

    def __init__(self, message: str, *, hint: str | None = None) -> None:
        self.message = message
        self.hint = hint
        super().__init__(f"{message}\n  → {hint}" if hint else message)


class InputRejected(PodiumError):
    """A task, document or request was refused before anything ran or was stored."""

    http_status = 422


class ConfigError(PodiumError):
    """A workspace file, model URI or expert entry is wrong."""

    http_status = 400


class ModelUnavailable(PodiumError):
    """A model file is missing or an endpoint cannot be reached."""

    http_status = 503


class PlanError(PodiumError):
    """The planner could not produce a valid plan, even after being shown its mistakes."""

    http_status = 502


class ExpertError(PodiumError):
    """An expert failed; the step is recorded as failed with this reason."""


class RegistryError(PodiumError):
    """An expert could not be registered (duplicate name, broken plugin, bad config)."""

    http_status = 400


class GuardrailBlocked(PodiumError):
    """A guardian blocked the input or the answer."""

    http_status = 403


class SQLRefused(PodiumError):
    """A query was refused by the read-only guard; nothing was executed."""

    http_status = 403


class BudgetExceeded(PodiumError):
    """A per-run limit (steps, tokens, time, large-model calls) was reached."""

    http_status = 429


class StoreUnavailable(PodiumError):
    """The workspace store cannot be written (locked by another process, unreachable)."""

    http_status = 503


class RunNotFound(PodiumError):
    """No run with that id in this workspace's store."""

    http_status = 404
