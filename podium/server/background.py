"""Run the server in a background thread (notebooks, tests, benchmarks).

with serve_in_thread(create_app(Podium())) as url:
    openai.OpenAI(base_url=f"{url}/v1", api_key="-").chat.completions.create(...)
"""

from __future__ import annotations

import contextlib
import socket
import threading
import time
from collections.abc import Iterator
from typing import Any

import uvicorn
from fastapi import FastAPI

from podium.errors import PodiumError

from .protocol import protocol_with_header_timeout


def uvicorn_config(app: FastAPI, host: str, port: int, **options: Any) -> uvicorn.Config:
    """uvicorn's config for a Podium app: its header deadline from the app's limits."""
    limits = getattr(app.state, "limits", None)
    seconds = getattr(limits, "header_timeout_s", 10.0)
    return uvicorn.Config(
        app, host=host, port=port, http=protocol_with_header_timeout(seconds), **options
    )


def free_port(host: str = "127.0.0.1") -> int:
    with socket.socket() as s:
        s.bind((host, 0))
        return int(s.getsockname()[1])


@contextlib.contextmanager
def serve_in_thread(
    app: FastAPI, host: str = "127.0.0.1", port: int | None = None, *, timeout_s: float = 30.0
) -> Iterator[str]:
    """Start uvicorn on ``host:port`` (a free port by default), yield its base URL, stop it."""
    port = port or free_port(host)
    server = uvicorn.Server(uvicorn_config(app, host, port, log_level="warning"))
    thread = threading.Thread(target=server.run, name=f"podium-server-{port}", daemon=True)
    thread.start()
    deadline = time.monotonic() + timeout_s
    while not server.started:
        if not thread.is_alive() or time.monotonic() > deadline:
            server.should_exit = True
            raise PodiumError(f"the server did not start on {host}:{port}")
        time.sleep(0.02)
    try:
        yield f"http://{host}:{port}"
    finally:
        server.should_exit = True
        thread.join(timeout_s)
