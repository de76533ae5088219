"""``podium serve``: the chat page and the APIs on one port."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Annotated, Any

import typer


def register(app: typer.Typer, eval_app: typer.Typer, train_app: typer.Typer) -> None:
    app.command()(serve)


def serve(
    workspace: Annotated[
        Path | None,
        typer.Option("--workspace", "-w", help="Workspace folder (default: the shipped demo)."),
    ] = None,
    host: Annotated[
        str, typer.Option(help="Address to bind; 0.0.0.0 exposes the server to your network.")
    ] = "127.0.0.1",
    port: Annotated[int, typer.Option(help="Port to listen on.")] = 8700,
    planner: Annotated[str | None, typer.Option(help="Planner model URI.")] = None,
    token: Annotated[
        str | None,
        typer.Option(
            envvar="PODIUM_TOKEN",
            help="Require 'Authorization: Bearer TOKEN' on /api and /v1 (env PODIUM_TOKEN).",
        ),
    ] = None,
) -> None:
    """Serve the chat page, the run API and the OpenAI-compatible API (/v1)."""
    import uvicorn

    from podium.cli import _fail, _workspace, err
    from podium.errors import PodiumError
    from podium.runner import Podium

    from .app import LOOPBACK_HOSTS, create_app

    try:
        if planner:
            from podium.models.uri import parse_model_uri

            parse_model_uri(planner)
        podium = Podium(planner=planner, workspace=_workspace(workspace))
    except PodiumError as exc:
        raise _fail(exc) from None
    loopback = host in ("127.0.0.1", "localhost", "::1")
    if not loopback and not token:
        err.print(
            f"[yellow]warning:[/] serving on {host} without --token: anyone who can reach "
            "this port can run tasks"
        )
    err.print(f"podium · workspace {podium.workspace.name} · http://{_shown(host)}:{port}/")
    app = create_app(podium, token=token, allowed_hosts=LOOPBACK_HOSTS if loopback else None)
    uvicorn.run(app, host=host, port=port, log_level=_log_level())


def _shown(host: str) -> str:
    return f"[{host}]" if ":" in host else host


def _log_level() -> Any:
    return os.environ.get("PODIUM_LOG_LEVEL", "info").lower()
