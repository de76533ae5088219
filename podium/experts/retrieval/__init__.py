"""Retrieval: passages from the workspace's documents."""

from .expert import RetrievalExpert, RetrievalRequest

__all__ = ["RetrievalExpert", "RetrievalRequest"]
