"""``podium``: run tasks, list experts and runs, create workspaces.

Progress goes to stderr and results to stdout, so ``podium run ... --json | jq`` works.
Exit codes: 0 done, 1 the run failed, 2 bad input or configuration, 3 a model is unavailable.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Annotated, Any

import typer
from rich.table import Table

from podium.cli import (
    bench,
    fact_check,
    guardians,
    learning,
    memory,
    models,
    nl2sql,
    schema_match,
    serve,
)
from podium.cli.options import JsonOpt, WorkspaceOpt, err, fail, load_workspace, out
from podium.cli.progress import RunProgress
from podium.cli.sources import answer_sources
from podium.errors import ConfigError, PodiumError

app = typer.Typer(
    name="podium",
    help="A large model plans, a team of small expert models does the work.",
    no_args_is_help=True,
    pretty_exceptions_enable=False,
    add_completion=False,
)
experts_app = typer.Typer(help="Registered experts.", no_args_is_help=True)
runs_app = typer.Typer(help="Runs stored in the workspace.", no_args_is_help=True)
eval_app = typer.Typer(help="Measure an expert on a benchmark folder.", no_args_is_help=True)
train_app = typer.Typer(help="Train a shipped small model, reproducibly.", no_args_is_help=True)
app.add_typer(experts_app, name="experts")
app.add_typer(runs_app, name="runs")
app.add_typer(eval_app, name="eval")
app.add_typer(train_app, name="train")

WorkflowOpt = Annotated[
    str | None, typer.Option(help="A graph to run instead of the planner: module:object.")
]


def _read_task(task: str) -> str | bytes:
    """``-`` reads the task from stdin as bytes, so encoding is checked, not guessed."""
    return sys.stdin.buffer.read() if task == "-" else task


@app.command()
def run(
    task: Annotated[str, typer.Argument(help="What to do, in words ('-' reads stdin).")],
    workspace: WorkspaceOpt = None,
    planner: Annotated[
        str | None,
        typer.Option(help="Planner model URI, e.g. local:qwen2.5-coder-1.5b, openai:gpt-4o."),
    ] = None,
    workflow: WorkflowOpt = None,
    as_json: JsonOpt = False,
    quiet: Annotated[bool, typer.Option("--quiet", "-q", help="No live progress.")] = False,
) -> None:
    """Plan TASK, run the experts, and print the answer."""
    from podium.guardians import check_text

    try:
        text = check_text(_read_task(task))
        if planner:
            from podium.models.uri import parse_model_uri

            parse_model_uri(planner)
        ws = load_workspace(workspace)
        graph = _load_workflow(workflow) if workflow else None
        from podium.runner import Podium

        podium = Podium(planner=planner, workspace=ws, workflow=graph)
        progress = RunProgress(enabled=not quiet)
        with progress.live():
            result = podium.run(text, on_event=progress.update)
    except PodiumError as exc:
        raise fail(exc) from None
    _print_result(result, as_json)


def _print_result(result: Any, as_json: bool) -> None:
    if as_json:
        out.print_json(json.dumps(result.to_json_dict(), default=str))
    elif result.status == "awaiting_approval":
        for p in result.pending_approvals:
            when = "before it runs" if p["when"] == "before" else "before its result is used"
            err.print(
                f"[yellow]step {p['step_id']} ({p['expert']}) waits for approval "
                f"{when}:[/] {p['input']}" + (f" — {p['reason']}" if p["reason"] else "")
            )
        steps = " ".join(p["step_id"] for p in result.pending_approvals)
        err.print(f"answer with: podium approve {result.run_id} {steps}   (or add --reject)")
    else:
        out.print(result.answer or "", highlight=False, markup=False)
        if sources := answer_sources(result.steps):
            err.print("sources: " + " · ".join(sources), style="dim", highlight=False, markup=False)
        err.print(
            f"[dim]run {result.run_id} · {result.status} · "
            f"{result.cost.get('ms', 0) / 1000:.1f} s of model/expert time[/]"
        )
    if result.status not in ("done", "partial", "blocked", "awaiting_approval"):
        raise typer.Exit(1)


def _load_workflow(spec: str) -> Any:
    from langgraph.graph import StateGraph

    from podium.experts.registry import resolve_object

    if "" not in sys.path and str(Path.cwd()) not in sys.path:
        sys.path.insert(0, str(Path.cwd()))  # like `python -m`: modules beside you import
    obj = resolve_object(spec)
    if callable(obj) and not isinstance(obj, StateGraph):
        obj = obj()
    if not isinstance(obj, StateGraph):
        raise ConfigError(
            f"{spec} is a {type(obj).__name__}, not a StateGraph",
            hint="point at a StateGraph built from Podium's nodes (or a function returning one)",
        )
    return obj


@app.command()
def resume(
    run_id: str,
    workspace: WorkspaceOpt = None,
    workflow: WorkflowOpt = None,
    as_json: JsonOpt = False,
) -> None:
    """Continue an interrupted run from its checkpoint; finished steps are not run again."""
    from podium.runner import Podium

    try:
        graph = _load_workflow(workflow) if workflow else None
        result = Podium(workspace=load_workspace(workspace), workflow=graph).resume(run_id)
    except PodiumError as exc:
        raise fail(exc) from None
    _print_result(result, as_json)


@app.command()
def approve(
    run_id: str,
    steps: Annotated[list[str], typer.Argument(help="The step ids to answer, e.g. s2.")],
    reject: Annotated[bool, typer.Option("--reject", help="Reject instead of approve.")] = False,
    note: Annotated[str, typer.Option(help="Why, recorded with the decision.")] = "",
    workspace: WorkspaceOpt = None,
    workflow: WorkflowOpt = None,
    as_json: JsonOpt = False,
) -> None:
    """Answer the approvals a paused run waits for, and let it continue."""
    from podium.runner import Podium

    decisions = {s: {"approved": not reject, "note": note} for s in steps}
    try:
        graph = _load_workflow(workflow) if workflow else None
        podium = Podium(workspace=load_workspace(workspace), workflow=graph)
        result = podium.resume(run_id, approvals=decisions)
    except PodiumError as exc:
        raise fail(exc) from None
    _print_result(result, as_json)


@app.command()
def init(
    directory: Path,
    db: Annotated[
        list[str] | None, typer.Option("--db", help="SQLAlchemy URL (repeatable).")
    ] = None,
    docs: Annotated[
        list[Path] | None, typer.Option("--docs", help="Documents folder (repeatable).")
    ] = None,
    planner: Annotated[str | None, typer.Option(help="Planner model URI.")] = None,
    guardians: Annotated[
        bool, typer.Option(help="Screen tasks and documents for injections (on by default).")
    ] = True,
) -> None:
    """Create a workspace: a folder with a podium.toml."""
    from podium.models.uri import parse_model_uri
    from podium.workspace import Workspace

    try:
        if planner:
            parse_model_uri(planner)
        for path in docs or []:
            if not path.exists():
                raise ConfigError(f"documents path {path} does not exist")
        ws = Workspace.init(
            directory,
            databases=db or [],
            documents=[str(p) for p in docs or []],
            planner=planner,
            guardians=guardians,
        )
    except PodiumError as exc:
        raise fail(exc) from None
    err.print(f"created workspace {ws.name!r} at {ws.root}")
    out.print(str(ws.root / "podium.toml"))


@experts_app.command("list")
def experts_list(workspace: WorkspaceOpt = None, as_json: JsonOpt = False) -> None:
    """The experts the planner can use, and any that failed to register."""
    from podium.runner import Podium

    try:
        podium = Podium(
            workspace=load_workspace(workspace), store=False, checkpoint=False, warmup=False
        )
    except PodiumError as exc:
        raise fail(exc) from None
    from podium.orchestrator.policy_cards import read_cards

    reg = podium.registry
    try:
        policies = read_cards(podium.workspace)
    except PodiumError as exc:
        raise fail(exc) from None
    cards = [
        {
            **e.card(),
            "origin": reg.origin(e.name),
            "policy": policies[e.name].model_dump(mode="json") if e.name in policies else None,
        }
        for e in reg
    ]
    problems = [p.__dict__ for p in reg.problems]
    if as_json:
        out.print_json(json.dumps({"experts": cards, "problems": problems}))
        return
    table = Table(title="experts")
    for col in ("name", "description", "model", "origin", "policy"):
        table.add_column(col, overflow="fold")
    for c in cards:
        card = policies.get(c["name"])
        table.add_row(
            c["name"],
            c["description"],
            c["model"] or "-",
            c["origin"],
            card.line() if card else "-",
        )
    out.print(table)
    for p in problems:
        err.print(f"[yellow]not registered:[/] {p['name']} from {p['source']}: {p['reason']}")


@runs_app.command("list")
def runs_list(
    workspace: WorkspaceOpt = None,
    limit: Annotated[int, typer.Option(help="How many runs.")] = 20,
    as_json: JsonOpt = False,
) -> None:
    """Recent runs, newest first."""
    from podium.memory.store import RunStore

    try:
        store = RunStore(load_workspace(workspace).store_url)
        rows = store.list_runs(limit)
    except PodiumError as exc:
        raise fail(exc) from None
    if as_json:
        out.print_json(json.dumps([r.model_dump(mode="json") for r in rows]))
        return
    table = Table(title="runs")
    for col in ("id", "status", "task", "answer"):
        table.add_column(col, overflow="fold")
    for r in rows:
        table.add_row(r.run_id, r.status, r.task[:60], (r.answer or r.error or "")[:60])
    out.print(table)


@runs_app.command("show")
def runs_show(run_id: str, workspace: WorkspaceOpt = None, as_json: JsonOpt = False) -> None:
    """One run: its plan, steps, answer and events."""
    from podium.memory.store import RunStore

    try:
        run = RunStore(load_workspace(workspace).store_url).get_run(run_id, prefix=True)
    except PodiumError as exc:
        raise fail(exc) from None
    if as_json:  # the same RunRecord as `podium run --json` and GET /api/runs/{id}
        out.print_json(json.dumps(run.to_json_dict()))
        return
    out.print(f"[bold]{run.run_id}[/] · {run.status} · {run.task}")
    table = Table()
    for col in ("step", "expert", "status", "conf", "ms", "input"):
        table.add_column(col, overflow="fold")
    for s in run.steps:
        table.add_row(
            s.step_id,
            s.expert,
            s.status,
            f"{s.confidence:.2f}",
            f"{s.cost.ms:.0f}",
            s.input[:80],
        )
    out.print(table)
    out.print(run.answer or run.error or "", highlight=False, markup=False)
    out.print(f"[dim]{len(run.events)} events[/]")


# Each command module adds its commands with ``register(app, eval_app, train_app)``, in this
# order (the order ``podium --help`` lists them). They are imported by name: a missing one is
# an ImportError, not a command that silently disappears.
COMMAND_MODULES = (
    memory,
    models,
    nl2sql,
    schema_match,
    fact_check,
    guardians,
    serve,
    bench,
    learning,
)
for _module in COMMAND_MODULES:
    _module.register(app, eval_app, train_app)


def main() -> None:
    """The ``podium`` command. Bad input is a ``PodiumError`` with a hint (exit 2 or 3); any
    other exception is a bug, shown as one line asking for a report — never a traceback,
    unless ``PODIUM_DEBUG=1``."""
    import os

    try:
        app()
    except PodiumError as exc:  # a command that did not catch its own: still the user's to fix
        if os.environ.get("PODIUM_DEBUG"):
            raise
        raise SystemExit(fail(exc).exit_code) from None
    except Exception as exc:
        if os.environ.get("PODIUM_DEBUG"):
            raise
        err.print(
            f"[red]internal error:[/] {type(exc).__name__}: {exc}\n"
            "  → this is a bug in Podium; please report it (PODIUM_DEBUG=1 shows the traceback)"
        )
        raise SystemExit(1) from None
