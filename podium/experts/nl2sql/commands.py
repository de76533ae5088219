"""CLI: ``podium eval nl2sql`` (execution accuracy on a Spider folder) and ``podium sql``
(run one read-only query against a workspace database, or see why it is refused)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Annotated, Any

import typer
from rich.table import Table

from podium.cli_options import err, out
from podium.errors import PodiumError

from .expert import STRATEGIES


def register(app: typer.Typer, eval_app: typer.Typer, train_app: typer.Typer) -> None:
    eval_app.command("nl2sql")(eval_nl2sql)
    app.command("sql")(sql)


def eval_nl2sql(
    data: Annotated[Path, typer.Option(help="Spider-format folder: dev.json + database/.")],
    strategy: Annotated[
        str, typer.Option(help="single (one greedy draft) | vote | vote+repair")
    ] = "vote+repair",
    large: Annotated[
        str | None,
        typer.Option(help="Large model for repairs, e.g. openai-compatible:http://h:8000/v1#m"),
    ] = None,
    model: Annotated[str, typer.Option(help="Small model that drafts.")] = "local:smollm2",
    drafts: Annotated[int, typer.Option(help="Drafts per question (vote strategies).")] = 5,
    limit: Annotated[
        int | None, typer.Option(help="Evaluate N questions spread evenly over the file.")
    ] = None,
    as_json: Annotated[bool, typer.Option("--json", help="Print one JSON object.")] = False,
    items: Annotated[bool, typer.Option(help="With --json: include every question.")] = False,
) -> None:
    """Execution accuracy of the nl2sql expert on a Spider-format folder."""
    from podium.cli import _fail
    from podium.models.uri import parse_model_uri

    from .evaluate import evaluate

    try:
        if strategy not in STRATEGIES:
            from podium.errors import ConfigError

            raise ConfigError(
                f"unknown strategy {strategy!r}", hint=f"use one of {', '.join(STRATEGIES)}"
            )
        parse_model_uri(model)
        if large:
            parse_model_uri(large)
        done = [0, 0]

        def progress(o: Any) -> None:
            done[0] += 1
            done[1] += o.correct
            err.print(
                f"[dim]{done[0]:4d}  {'✓' if o.correct else '✗'}  acc {done[1] / done[0]:.3f}"
                f"  {o.seconds:5.1f}s  {o.db_id}: {o.question[:60]}[/]",
                highlight=False,
            )

        report = evaluate(
            data,
            strategy=strategy,  # type: ignore[arg-type]
            model=model,
            large=large,
            drafts=drafts,
            limit=limit,
            on_item=progress,
        )
    except PodiumError as exc:
        raise _fail(exc) from None
    if as_json:
        out.print_json(json.dumps(report.as_dict(items=items), default=str))
        return
    table = Table(title=f"nl2sql on {data} — strategy {strategy}")
    for col in ("n", "execution accuracy", "valid SQL", "candidates", "latency (mean)"):
        table.add_column(col, justify="right")
    table.add_row(
        str(report.n),
        f"{report.execution_accuracy:.1%}",
        f"{report.valid_sql_rate:.1%}",
        f"{report.mean_candidates:.1f}",
        f"{report.mean_latency_s:.1f} s",
    )
    out.print(table)


def sql(
    query: Annotated[str, typer.Argument(help="One SELECT statement.")],
    workspace: Annotated[
        Path | None, typer.Option("--workspace", "-w", help="Workspace (default: the demo).")
    ] = None,
    database: Annotated[str | None, typer.Option(help="Database name in the workspace.")] = None,
    as_json: Annotated[bool, typer.Option("--json", help="Print one JSON object.")] = False,
) -> None:
    """Run one read-only query against a workspace database (anything else is refused)."""
    from podium.cli import _fail, _workspace
    from podium.errors import SQLRefused
    from podium.tools.sql import QueryFailed, open_database

    try:
        db = open_database(_workspace(workspace).database_url(database))
        result = db.execute(query)
    except SQLRefused as exc:
        err.print(f"[bold red]refused:[/] {exc}", highlight=False)
        raise typer.Exit(2) from None
    except QueryFailed as exc:
        err.print(f"[bold red]the database rejected the query:[/] {exc}", highlight=False)
        raise typer.Exit(1) from None
    except PodiumError as exc:
        raise _fail(exc) from None
    if as_json:
        out.print_json(json.dumps(result.as_dict(max_rows=result.row_count), default=str))
        return
    table = Table(*result.columns)
    for row in result.rows[:50]:
        table.add_row(*(str(v) for v in row))
    out.print(table)
    err.print(f"[dim]{result.row_count} rows{' (capped)' if result.truncated else ''}[/]")
