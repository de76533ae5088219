"""Server-sent events: one stream per run carrying answer tokens and orchestration events."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator
from typing import Any

from sse_starlette.sse import EventSourceResponse, ServerSentEvent

from .runs import RunChannel


def event_stream(channel: RunChannel, after: int = 0) -> EventSourceResponse:
    """``event: <type>``, ``id: <seq>``, ``data: <event JSON>`` for each event of the run.

    The stream ends when the run finishes or pauses for approval; a client that closes it
    early stops only its own reading (sse-starlette notices the disconnect).

    ``Cache-Control: no-cache``, not sse-starlette's default ``no-store``: Chromium reports a
    ``no-store`` body read to its end through a stream reader (as the page reads this one,
    with ``fetch`` so that it can send the token) as ``net::ERR_ABORTED``, although the
    server ended the chunked body properly; with ``no-cache`` the same stream is "finished".
    ``no-cache`` is what the rest of the server sends (the page, the OpenAI-style stream).
    """

    async def frames() -> AsyncIterator[ServerSentEvent]:
        async for event in channel.follow(after):
            yield ServerSentEvent(
                data=json.dumps(event, default=str), event=event["type"], id=str(event["seq"])
            )

    return EventSourceResponse(
        frames(), ping=15, send_timeout=30, headers={"Cache-Control": "no-cache"}
    )


def parse_last_event_id(value: str | None, after: int | None) -> int:
    if after is not None:
        return after
    try:
        return int(value) if value else 0
    except ValueError:
        return 0


def data_frame(payload: dict[str, Any] | str) -> str:
    """One ``data:`` frame (for the OpenAI-style stream, which has no event names)."""
    text = payload if isinstance(payload, str) else json.dumps(payload, default=str)
    return f"data: {text}\n\n"
