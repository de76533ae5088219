"""CLI: ``podium eval nl2sql`` (execution accuracy on a Spider folder) and ``podium sql``
(run one read-only query against a workspace database, or see why it is refused)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Annotated, Any

import typer
from rich.table import Table

from podium.cli.options import err, fail, load_workspace, out
from podium.errors import PodiumError
from podium.experts.nl2sql.expert import STRATEGIES


def register(app: typer.Typer, eval_app: typer.Typer, train_app: typer.Typer) -> None:
    eval_app.command("nl2sql")(eval_nl2sql)
    app.command("sql")(sql)


def eval_nl2sql(
    data: Annotated[Path, typer.Option(help="Spider-format folder: dev.json + database/.")],
    strategy: Annotated[
        str,
        typer.Option(
            help="full (agreement cascade, the default) | draft_finalise | vote | few_shot | "
            "zero_shot; several comma-separated are scored from one pass"
        ),
    ] = "full",
    small: Annotated[
        str | None, typer.Option(help="Model URI for the small role (drafts).")
    ] = None,
    large: Annotated[
        str | None,
        typer.Option(help="Model URI for the large role, e.g. openai-compatible:http://h/v1#m"),
    ] = None,
    drafts: Annotated[int, typer.Option(help="Small-model drafts per question.")] = 3,
    more_drafts: Annotated[
        int, typer.Option(help="Drafts added when no two agree, before the large model.")
    ] = 1,
    limit: Annotated[
        int | None, typer.Option(help="Evaluate N questions, stratified by database.")
    ] = None,
    as_json: Annotated[bool, typer.Option("--json", help="Print one JSON object.")] = False,
    items: Annotated[bool, typer.Option(help="With --json: include every question.")] = False,
) -> None:
    """Execution accuracy of the nl2sql strategies on a Spider-format folder."""
    from podium.errors import ConfigError
    from podium.experts.nl2sql.evaluate import evaluate
    from podium.models.uri import parse_model_uri

    strategies = tuple(s.strip() for s in strategy.split(",") if s.strip())
    try:
        bad = [s for s in strategies if s not in STRATEGIES]
        if bad or not strategies:
            raise ConfigError(
                f"unknown strategy {', '.join(bad) or strategy!r}",
                hint=f"use one of {', '.join(STRATEGIES)}",
            )
        for uri in (small, large):
            if uri:
                parse_model_uri(uri)
        done = [0, 0]

        def progress(o: Any) -> None:
            done[0] += 1
            done[1] += o.correct
            err.print(
                f"[dim]{done[0]:4d}  {'✓' if o.correct else '✗'}  {o.strategy}  "
                f"{o.seconds:5.1f}s  {o.decision}  {o.db_id}: {o.question[:50]}[/]",
                highlight=False,
            )

        reports = evaluate(
            data,
            strategies=strategies,
            small=small,
            large=large,
            drafts=drafts,
            more_drafts=more_drafts,
            limit=limit,
            on_item=progress,
        )
    except PodiumError as exc:
        raise fail(exc) from None
    if as_json:
        payload = [r.as_dict(items=items) for r in reports]
        out.print_json(json.dumps(payload[0] if len(payload) == 1 else payload, default=str))
        return
    table = Table(title=f"nl2sql on {data} (small {reports[0].small}, large {reports[0].large})")
    for col in (
        "strategy",
        "n",
        "execution accuracy",
        "strict",
        "valid SQL",
        "large calls / q",
        "median s/q",
        "p95 s/q",
    ):
        table.add_column(col, justify="right")
    for r in reports:
        table.add_row(
            r.strategy,
            str(r.n),
            f"{r.execution_accuracy:.1%}",
            f"{r.execution_accuracy_strict:.1%}",
            f"{r.valid_sql_rate:.1%}",
            f"{r.large_calls_per_question:.2f}",
            f"{r.median_s:.1f}",
            f"{r.p95_s:.1f}",
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
    from podium.errors import SQLRefused
    from podium.tools.sql import QueryFailed, open_database

    try:
        db = open_database(load_workspace(workspace).database_url(database))
        result = db.execute(query)
    except SQLRefused as exc:
        err.print(f"[bold red]refused:[/] {exc}", highlight=False)
        raise typer.Exit(2) from None
    except QueryFailed as exc:
        err.print(f"[bold red]the database rejected the query:[/] {exc}", highlight=False)
        raise typer.Exit(1) from None
    except PodiumError as exc:
        raise fail(exc) from None
    if as_json:
        out.print_json(json.dumps(result.as_dict(max_rows=result.row_count), default=str))
        return
    table = Table(*result.columns)
    for row in result.rows[:50]:
        table.add_row(*(str(v) for v in row))
    out.print(table)
    err.print(f"[dim]{result.row_count} rows{' (capped)' if result.truncated else ''}[/]")
