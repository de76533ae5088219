"""``podium serve``: the chat page and the APIs on one port."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Annotated, Any

import typer

from podium.cli.options import err, fail, load_workspace


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
    allow_host: Annotated[
        list[str] | None,
        typer.Option(
            "--allow-host",
            help="A Host name clients may use besides loopback and this machine's name "
            "(repeatable; needed with --host 0.0.0.0 to reach the server by IP).",
        ),
    ] = None,
    db_host: Annotated[
        list[str] | None,
        typer.Option(
            "--db-host",
            help="A PostgreSQL host the page may connect besides loopback (repeatable).",
        ),
    ] = None,
    docs: Annotated[
        bool, typer.Option(help="Serve the interactive API docs at /docs (loads CDN scripts).")
    ] = False,
) -> None:
    """Serve the chat page, the run API and the OpenAI-compatible API (/v1)."""
    import uvicorn

    from podium.errors import PodiumError
    from podium.runner import Podium
    from podium.server.app import create_app
    from podium.server.background import uvicorn_config
    from podium.server.databases import LOOPBACK_DB_HOSTS, DatabasePolicy
    from podium.server.hosts import allowed_hosts, url_host

    try:
        if planner:
            from podium.models.uri import parse_model_uri

            parse_model_uri(planner)
        podium = Podium(planner=planner, workspace=load_workspace(workspace))
    except PodiumError as exc:
        raise fail(exc) from None
    loopback = host in ("127.0.0.1", "localhost", "::1")
    if not loopback and not token:
        err.print(
            f"[yellow]warning:[/] serving on {host} without --token: anyone who can reach "
            "this port can run tasks"
        )
    hosts = allowed_hosts(host, allow_host or [])
    if not loopback:
        err.print(f"Host names accepted: {', '.join(hosts)} (add more with --allow-host)")
    err.print(f"podium · workspace {podium.workspace.name} · http://{url_host(host)}:{port}/")
    policy = DatabasePolicy(hosts=(*LOOPBACK_DB_HOSTS, *(h.lower() for h in db_host or [])))
    app = create_app(podium, token=token, allowed_hosts=hosts, databases=policy, docs=docs)
    uvicorn.Server(uvicorn_config(app, host, port, log_level=_log_level())).run()


def _log_level() -> Any:
    return os.environ.get("PODIUM_LOG_LEVEL", "info").lower()
