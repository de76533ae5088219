"""Persistence: the run store (SQLAlchemy) that events, steps and runs are written to."""

from .store import RunStore

__all__ = ["RunStore"]
