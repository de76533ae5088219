"""What every ``podium`` command shares: the two consoles, the common options, the workspace
a command runs in and the way an error becomes an exit code.

Kept apart from :mod:`podium.cli.app` so the command modules that app.py registers can import
these without importing app.py itself (which would be a cycle).
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer
from rich.console import Console

from podium.errors import ConfigError, InputRejected, ModelUnavailable

if TYPE_CHECKING:
    from podium.workspace import Workspace

# Results go to stdout and progress/errors to stderr, so `podium ... --json | jq` works.
out = Console(soft_wrap=True)
err = Console(stderr=True)

WorkspaceOpt = Annotated[
    Path | None,
    typer.Option("--workspace", "-w", help="Workspace folder (default: the shipped demo)."),
]
JsonOpt = Annotated[bool, typer.Option("--json", help="Print one JSON object.")]


def fail(exc: BaseException) -> typer.Exit:
    """Print an error the way a user can act on it and choose the exit code: 2 bad input or
    configuration, 3 a model is unavailable, 1 anything else."""
    err.print(f"[bold red]error:[/] {exc}", highlight=False, markup=True)
    if isinstance(exc, InputRejected | ConfigError):
        return typer.Exit(2)
    if isinstance(exc, ModelUnavailable):
        return typer.Exit(3)
    return typer.Exit(1)


def load_workspace(path: Path | None) -> Workspace:
    """The workspace at PATH, or the shipped demo when no ``--workspace`` was given."""
    from podium.workspace import Workspace, demo_workspace

    return Workspace.load(path) if path else demo_workspace()
