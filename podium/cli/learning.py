"""CLI commands for learning from runs: ``podium feedback``, ``podium learn``,
``podium export examples``. Imports stay inside the commands so ``podium --help`` stays fast.
"""

from __future__ import annotations

import json
import sys
from enum import StrEnum
from pathlib import Path
from typing import Annotated, Any

import typer
from rich.table import Table

from podium.cli.options import JsonOpt, WorkspaceOpt, err, fail, load_workspace, out

export_app = typer.Typer(help="Export what Podium learned.", no_args_is_help=True)


class VerdictArg(StrEnum):
    good = "good"
    bad = "bad"


class Format(StrEnum):
    jsonl = "jsonl"


def _store(workspace: Any) -> Any:
    from podium.learning import ExampleStore
    from podium.memory.store import RunStore

    ws = load_workspace(workspace)
    return ws, ExampleStore(RunStore(ws.store_url))


def feedback(
    run_id: str,
    step_id: Annotated[
        str,
        typer.Argument(
            help="A step id (s1, s2, ...), 'run' for all, or 'guard' for the entry guard's "
            "verdict on the task."
        ),
    ],
    verdict: Annotated[VerdictArg, typer.Argument(help="good or bad.")],
    workspace: WorkspaceOpt = None,
    as_json: JsonOpt = False,
) -> None:
    """Judge a step (or 'run' for all steps): good verifies it, bad removes it. For 'guard',
    good confirms the guard's verdict and bad says it was wrong (a false alarm, or a missed
    attack); either is an example its prompt head relearns from."""
    from podium.errors import PodiumError

    try:
        ws, store = _store(workspace)
        run = store.store.get_run(run_id, prefix=True)
        touched = store.feedback(
            run.run_id, None if step_id == "run" else step_id, verdict.value, via="cli"
        )
    except PodiumError as exc:
        raise fail(exc) from None
    started = _refresh_if_due(ws, store) if touched and verdict.value == "good" else []
    if as_json:
        out.print_json(json.dumps([e.__dict__ for e in touched], default=str))
        return
    what = "removed" if verdict.value == "bad" else "verified"
    if step_id == "guard" and verdict.value == "bad":
        what = "verified (the guard was wrong)"
    err.print(
        f"recorded {verdict.value} for run {run.run_id} {step_id}; {len(touched)} example(s) {what}"
    )
    if started:
        err.print(
            f"refreshing {', '.join(started)} in the background ([learning] refresh_every); "
            "podium learn --history shows the outcome"
        )


def _refresh_if_due(ws: Any, store: Any) -> list[str]:
    """With ``[learning] refresh_every``, start ``podium learn --due`` in a process of its
    own when something has that many new verified examples (this command has no Podium to
    keep a background thread in). Returns what is due."""
    from podium.learning import auto

    n = auto.every(ws)
    found = sorted(auto.new_examples(store.engine, n)) if n else []
    if found:
        auto.start_detached(ws)
    return found


def learn(
    expert: Annotated[
        str | None, typer.Option(help="Only this expert (or 'router'); default: everything.")
    ] = None,
    workspace: WorkspaceOpt = None,
    history: Annotated[bool, typer.Option(help="List past refreshes instead.")] = False,
    min_examples: Annotated[
        int | None, typer.Option(help="Fewest verified examples to learn from (default 5).")
    ] = None,
    data: Annotated[
        Path | None,
        typer.Option(
            help="Training slices the trained heads relearn on (fact_check/, guard/, "
            "injection/); default: [learning] data."
        ),
    ] = None,
    due: Annotated[
        bool,
        typer.Option(
            help="Only what [learning] refresh_every says is due (as the background refresh does)."
        ),
    ] = False,
    as_json: JsonOpt = False,
) -> None:
    """Relearn from verified examples; a refresh worse on held-back ones is rolled back."""
    from podium.errors import ConfigError, PodiumError
    from podium.learning import auto
    from podium.learning import learn as run_learn
    from podium.learning.refresh import history as refresh_history
    from podium.runner import Podium

    try:
        ws = load_workspace(workspace)
        n = auto.every(ws)
        if due and not n:
            raise ConfigError(
                "--due refreshes what [learning] refresh_every says is due, and it is not set",
                hint="set refresh_every = N under [learning] in podium.toml, or leave out --due",
            )
        podium = Podium(workspace=ws, checkpoint=False, warmup=False)
        assert podium.store is not None
        if history:
            rows = refresh_history(podium.store.engine)
        elif due and n:
            rows = [r.as_dict() for r in auto.refresh_due(podium, n)]
        else:
            found = run_learn(
                podium, expert, minimum=min_examples, data=data.resolve() if data else None
            )
            rows = [r.as_dict() for r in found]
    except PodiumError as exc:
        raise fail(exc) from None
    if as_json:
        out.print_json(json.dumps(rows, default=str))
        return
    table = Table(title="learning refreshes")
    for col in ("expert", "component", "status", "metric", "before", "after", "held back", "note"):
        table.add_column(col, overflow="fold")
    for r in rows:
        table.add_row(
            r["expert"],
            r["component"],
            r["status"],
            r["metric"],
            "" if r["before"] is None else f"{r['before']:.3f}",
            "" if r["after"] is None else f"{r['after']:.3f}",
            str(r["held_back"]),
            r.get("note") or "",
        )
    out.print(table)


def export_examples(
    expert: Annotated[str, typer.Option(help="Whose examples, e.g. nl2sql.")],
    fmt: Annotated[Format, typer.Option("--format", help="Output format.")] = Format.jsonl,
    workspace: WorkspaceOpt = None,
) -> None:
    """Write verified examples as chat-format JSONL (system/user/assistant, with provenance)
    to stdout, for fine-tuning a small model elsewhere."""
    from podium.errors import PodiumError
    from podium.learning.export import records

    try:
        ws, store = _store(workspace)
        n = 0
        for record in records(store.examples(expert), ws):
            sys.stdout.write(json.dumps(record, ensure_ascii=False, default=str) + "\n")
            n += 1
    except PodiumError as exc:
        raise fail(exc) from None
    err.print(f"{n} {expert} example(s) exported")


def register(app: typer.Typer, eval_app: typer.Typer, train_app: typer.Typer) -> None:
    app.command("feedback")(feedback)
    app.command("learn")(learn)
    export_app.command("examples")(export_examples)
    app.add_typer(export_app, name="export")
