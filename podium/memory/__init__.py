"""Persistence: the run store (runs, steps, events) and conversations, via SQLAlchemy."""

from .conversations import ConversationNotFound, ConversationStore
from .store import RunStore

__all__ = ["ConversationNotFound", "ConversationStore", "RunStore"]
