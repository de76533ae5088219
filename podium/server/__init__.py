"""The server behind ``podium serve``: the chat page, the run API and the OpenAI-compatible API."""

from .app import ServerLimits, create_app

__all__ = ["ServerLimits", "create_app"]
