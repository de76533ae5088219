"""CLI commands for learning from runs: ``podium feedback``, ``podium learn``,
``podium export examples``. Imports stay inside the commands so ``podium --help`` stays fast.
"""

from __future__ import annotations

import json
import sys
from enum import StrEnum
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
    step_id: Annotated[str, typer.Argument(help="A step id (s1, s2, ...) or 'run' for all.")],
    verdict: Annotated[VerdictArg, typer.Argument(help="good or bad.")],
    workspace: WorkspaceOpt = None,
    as_json: JsonOpt = False,
) -> None:
    """Judge a step (or 'run' for all steps): good verifies it, bad removes it."""
    from podium.errors import PodiumError

    try:
        _, store = _store(workspace)
        run = store.store.get_run(run_id, prefix=True)
        touched = store.feedback(
            run.run_id, None if step_id == "run" else step_id, verdict.value, via="cli"
        )
    except PodiumError as exc:
        raise fail(exc) from None
    if as_json:
        out.print_json(json.dumps([e.__dict__ for e in touched], default=str))
        return
    what = "removed" if verdict.value == "bad" else "verified"
    err.print(
        f"recorded {verdict.value} for run {run.run_id} {step_id}; {len(touched)} example(s) {what}"
    )


def learn(
    expert: Annotated[
        str | None, typer.Option(help="Only this expert (or 'router'); default: everything.")
    ] = None,
    workspace: WorkspaceOpt = None,
    history: Annotated[bool, typer.Option(help="List past refreshes instead.")] = False,
    min_examples: Annotated[
        int | None, typer.Option(help="Fewest verified examples to learn from (default 5).")
    ] = None,
    as_json: JsonOpt = False,
) -> None:
    """Relearn from verified examples; a refresh worse on held-back ones is rolled back."""
    from podium.errors import PodiumError
    from podium.learning import learn as run_learn
    from podium.learning.refresh import history as refresh_history
    from podium.runner import Podium

    try:
        podium = Podium(workspace=load_workspace(workspace), checkpoint=False, warmup=False)
        assert podium.store is not None
        rows = (
            refresh_history(podium.store.engine)
            if history
            else [r.as_dict() for r in run_learn(podium, expert, minimum=min_examples)]
        )
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
