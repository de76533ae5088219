"""``podium bench TASK --data DIR``: every strategy on the same examples, with a table, a
cost/quality plot and ``figures.json``."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Annotated, Any

import typer
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn
from rich.table import Table

from podium.bench.core import ALL_STRATEGIES, BenchReport
from podium.bench.outputs import write_outputs
from podium.cli.options import err, load_workspace, out

DEFAULT_N = {"fact_check": 40, "schema_match": 69, "nl2sql": 6, "retrieval": 60}


def register(app: typer.Typer, eval_app: typer.Typer, train_app: typer.Typer) -> None:
    app.command("bench")(bench)


def bench(
    task: Annotated[str, typer.Argument(help="nl2sql | fact_check | schema_match | retrieval")],
    data: Annotated[
        Path, typer.Option(help="The task's data folder (e.g. ../shared/data/spider).")
    ],
    out_dir: Annotated[
        Path, typer.Option("--out", help="Where to write table.md, figures.json, the plot.")
    ] = Path("bench-out"),
    strategies: Annotated[
        str | None,
        typer.Option(help=f"Comma-separated subset of: {', '.join(ALL_STRATEGIES)}."),
    ] = None,
    small: Annotated[
        str, typer.Option(help="Small model URI (generative tasks; default: role small).")
    ] = "",
    large: Annotated[
        str,
        typer.Option(
            help="Large model URI (default: role large), e.g. openai-compatible:http://h/v1#m."
        ),
    ] = "",
    n: Annotated[int | None, typer.Option(help="Test examples (default per task).")] = None,
    calibration: Annotated[
        int | None,
        typer.Option(help="Calibration examples, apart from the test ones (default per task)."),
    ] = None,
    budget: Annotated[
        float, typer.Option(help="Cascade: largest share of examples sent to the large model.")
    ] = 0.5,
    seed: Annotated[int, typer.Option(help="Which examples (shuffle seed).")] = 0,
    cross_fit: Annotated[
        int,
        typer.Option(
            help="fact_check: use every labelled claim, each answered by heads trained on the "
            "other K folds (0: only the claims the shipped verifier never saw)."
        ),
    ] = 0,
    as_json: Annotated[bool, typer.Option("--json", help="Print figures.json to stdout.")] = False,
    write_policy: Annotated[
        bool,
        typer.Option(
            "--write-policy",
            help="Write the Pareto-best strategy (fewest large calls within one point of the "
            "best) as the expert's policy card in the workspace.",
        ),
    ] = False,
    workspace: Annotated[
        Path | None,
        typer.Option("--workspace", "-w", help="Where --write-policy writes (default: demo)."),
    ] = None,
) -> None:
    """Measure small only, large only, cascade, vote, verify, hints and draft→finalise."""
    from podium.bench.core import run_bench
    from podium.bench.tasks import TASKS
    from podium.errors import PodiumError
    from podium.models.uri import parse_model_uri

    if task not in TASKS:
        err.print(f"[bold red]error:[/] unknown task {task!r}; choose one of {sorted(TASKS)}")
        raise typer.Exit(2)
    if not data.is_dir():
        err.print(f"[bold red]error:[/] {data} is not a folder; point --data at the task's data")
        raise typer.Exit(2)
    wanted = [s.strip() for s in strategies.split(",") if s.strip()] if strategies else None
    bad = sorted(set(wanted or ()) - set(ALL_STRATEGIES))
    if bad:
        err.print(f"[bold red]error:[/] unknown strategies {bad}; choose from {ALL_STRATEGIES}")
        raise typer.Exit(2)
    from podium.models.roles import default_roles

    roles = default_roles()
    small, large = small or roles["small"], large or roles["large"]
    try:
        parse_model_uri(small)
        parse_model_uri(large)
        sizes: dict[str, Any] = {"n": n or DEFAULT_N[task]}
        if calibration is not None:
            sizes["calibration"] = calibration
        if cross_fit:
            if task != "fact_check":
                err.print("[bold red]error:[/] --cross-fit applies to fact_check only")
                raise typer.Exit(2)
            if cross_fit < 2:
                err.print("[bold red]error:[/] --cross-fit needs at least 2 folds")
                raise typer.Exit(2)
            sizes["cross_fit"] = cross_fit
        built = TASKS[task](data, **sizes, small=small, large=large, seed=seed)
        chosen = [s for s in (wanted or ALL_STRATEGIES) if s in built.strategies]
        total = len(built.calibration_examples()) + len(chosen) * len(built.test_examples())
        with Progress(
            TextColumn("{task.description}"),
            BarColumn(),
            MofNCompleteColumn(),
            TimeElapsedColumn(),
            console=err,
            transient=True,
        ) as bar:
            job = bar.add_task(f"{task}", total=total)

            def tick(stage: str, k: int) -> None:
                bar.update(job, advance=k, description=f"{task}: {stage}")

            def save(so_far: BenchReport) -> None:
                write_outputs(so_far, out_dir)
                last = list(so_far.strategies)[-1]
                err.print(f"{task}: {last} done, accuracy {so_far.strategies[last].accuracy}")

            report = run_bench(built, wanted, budget=budget, progress=tick, partial=save)
    except PodiumError as exc:
        err.print(f"[bold red]error:[/] {exc}")
        raise typer.Exit(2 if exc.http_status < 500 else 1) from None
    except ValueError as exc:
        err.print(f"[bold red]error:[/] {exc}")
        raise typer.Exit(2) from None
    write_outputs(report, out_dir)
    if write_policy:
        import sys

        from podium.bench.cards import write_policy as write_card

        try:
            ws = load_workspace(workspace)
            card, path = write_card(report, built, ws, command=" ".join(["podium", *sys.argv[1:]]))
        except PodiumError as exc:
            err.print(f"[bold red]error:[/] {exc}")
            raise typer.Exit(1) from None
        err.print(f"wrote the policy card {path}: {card.line()}")
    if as_json:
        out.print_json(json.dumps(report.figures()))
    else:
        out.print(render_table(report))
        err.print(f"wrote {out_dir}/table.md, figures.json, cost_quality.png")


def render_table(report: BenchReport) -> Table:
    table = Table(title=f"{report.task} (n={report.n})")
    for col in (
        "strategy",
        report.metric,
        "95% CI",
        "large calls",
        "reached large",
        "tokens/ex",
        "s/ex",
    ):
        table.add_column(col)
    for name, s in report.strategies.items():
        table.add_row(
            name,
            f"{s.accuracy:.3f}",
            f"{s.ci_low:.2f}–{s.ci_high:.2f}",
            str(s.large_calls),
            f"{s.reached_large:.0%}",
            f"{s.tokens_per_example:.0f}",
            f"{s.seconds:.2f}",
        )
    return table
