"""What every ``podium`` command shares: the two consoles and the common options.

Kept apart from :mod:`podium.cli.app` so the command modules that app.py registers can import
these without importing app.py itself (which would be a cycle).
"""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer
from rich.console import Console

# Results go to stdout and progress/errors to stderr, so `podium ... --json | jq` works.
out = Console(soft_wrap=True)
err = Console(stderr=True)

WorkspaceOpt = Annotated[
    Path | None,
    typer.Option("--workspace", "-w", help="Workspace folder (default: the shipped demo)."),
]
JsonOpt = Annotated[bool, typer.Option("--json", help="Print one JSON object.")]
