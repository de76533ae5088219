"""CLI commands of the memory subsystem.

``podium ingest PATH...``, ``podium index check|rebuild|remove``, ``podium eval retrieval``,
``podium train retrieval``. Imports stay inside the commands so ``podium --help`` stays fast.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Annotated, Any

import typer

from podium.cli.options import JsonOpt, WorkspaceOpt, err, fail, load_workspace, out

DataOpt = Annotated[
    Path, typer.Option("--data", help="A BEIR folder: corpus.jsonl, queries.jsonl, qrels/test.tsv.")
]


def workspace_store(path: Path | None) -> Any:
    from podium.memory.documents import for_workspace

    return for_workspace(load_workspace(path))


def ingest(
    paths: Annotated[list[Path], typer.Argument(help="Files or folders (txt, md, html, pdf).")],
    workspace: WorkspaceOpt = None,
    prune: Annotated[
        bool, typer.Option(help="Delete stored documents under PATH whose files are gone.")
    ] = False,
    as_json: JsonOpt = False,
) -> None:
    """Add documents to the workspace's store and index (changed files are updated, unchanged
    ones skipped)."""
    import time

    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn

    from podium.errors import PodiumError

    try:
        store = workspace_store(workspace)
        with Progress(
            TextColumn("ingest"),
            BarColumn(),
            MofNCompleteColumn(),
            TextColumn("{task.fields[rate]}"),
            TextColumn("{task.description}"),
            console=err,
            transient=True,
            disable=as_json,
        ) as bar:
            task = bar.add_task("", total=None, rate="")
            started = time.monotonic()

            def progress(source: str, n: int, total: int) -> None:
                # Files arrive in bursts (one per written batch), so rate and time left are
                # taken over the whole run, not rich's short window (which a burst inflates).
                speed = n / max(time.monotonic() - started, 1e-9)
                left = time.strftime("%H:%M:%S", time.gmtime((total - n) / speed))
                rate = f"{speed:.1f} files/s, {left} left"
                bar.update(task, completed=n, total=total, description=Path(source).name, rate=rate)

            report = store.ingest(paths, prune=prune, progress=progress)
        store.close()
    except PodiumError as exc:
        raise fail(exc) from None
    data = report.as_dict()
    if as_json:
        out.print_json(json.dumps(data))
    else:
        out.print(
            f"{data['added']} added, {data['updated']} updated, {data['unchanged']} unchanged, "
            f"{len(data['duplicates'])} duplicates, {data['deleted']} deleted: "
            f"{data['chunks']} chunks in {data['seconds']:.1f} s"
        )
        for source, twin in report.duplicates.items():
            err.print(f"[yellow]duplicate:[/] {source} has the same content as {twin}")
    for reason in report.errors.values():
        err.print(f"[bold red]rejected:[/] {reason}", highlight=False)
    if report.errors:
        raise typer.Exit(2)


index_app = typer.Typer(help="The workspace's vector index.", no_args_is_help=True)


@index_app.command("check")
def index_check(workspace: WorkspaceOpt = None, as_json: JsonOpt = False) -> None:
    """Compare the index with the store; exit 1 when they disagree."""
    store = workspace_store(workspace)
    report = store.check()
    data = {**report.__dict__, "outdated": report.outdated, "ok": report.ok}
    if as_json:
        out.print_json(json.dumps(data))
    else:
        verdict = "consistent" if report.ok else "run: podium index rebuild"
        if report.outdated and report.missing == 0 and report.extra == 0:
            verdict = (
                "chunk vectors of an older kind (each chunk encoded whole): the next search "
                "derives them from the sentence vectors, or run: podium index rebuild"
            )
        out.print(
            f"{report.chunks} chunks, {report.vectors} vectors: {report.missing} missing, "
            f"{report.extra} extra — {verdict}"
        )
    if not report.ok:
        raise typer.Exit(1)


@index_app.command("rebuild")
def index_rebuild(workspace: WorkspaceOpt = None, as_json: JsonOpt = False) -> None:
    """Re-embed every stored chunk into a fresh index (exact or IVF by size)."""
    from podium.errors import PodiumError

    try:
        store = workspace_store(workspace)
        data = store.rebuild()
    except PodiumError as exc:
        raise fail(exc) from None
    if as_json:
        out.print_json(json.dumps(data))
    else:
        info = data["index"]
        extra = (
            f" (nlist {info['nlist']}, nprobe {info['nprobe']}, recall@10 {info['recall@10']})"
            if info.get("kind") == "ivf"
            else ""
        )
        out.print(
            f"{data['vectors']} vectors for {data['chunks']} chunks of {data['documents']} "
            f"documents; {info['kind']} index{extra}, {data['index_bytes'] / 1e6:.2f} MB"
        )


@index_app.command("remove")
def index_remove(
    sources: Annotated[list[str], typer.Argument(help="Document sources as ingested (paths).")],
    workspace: WorkspaceOpt = None,
) -> None:
    """Delete documents (their chunks and vectors) from the store."""
    store = workspace_store(workspace)
    missing = [s for s in sources if not store.remove(s)]
    for s in missing:
        err.print(f"[bold red]error:[/] no document {s!r} in this workspace")
    out.print(f"removed {len(sources) - len(missing)} document(s)")
    if missing:
        raise typer.Exit(2)


def eval_retrieval(
    data: DataOpt,
    as_json: JsonOpt = False,
    cache: Annotated[
        Path | None, typer.Option(help="Keep the indexed corpus here to reuse on the next run.")
    ] = None,
) -> None:
    """nDCG@10, Recall@100 and MRR@10 of BM25, dense and hybrid search on a BEIR folder."""
    from podium.errors import PodiumError
    from podium.experts.retrieval.evaluate import evaluate

    try:
        report = evaluate(data, progress=lambda msg: err.print(f"[dim]{msg}[/]"), workdir=cache)
    except PodiumError as exc:
        raise fail(exc) from None
    if as_json:
        out.print_json(json.dumps(report))
        return
    from rich.table import Table

    table = Table("method", "nDCG@10", "Recall@100", "MRR@10", "ms/query")
    for method in ("bm25", "dense", "hybrid"):
        m = report[method]
        table.add_row(
            method,
            f"{m['ndcg@10']:.4f}",
            f"{m['recall@100']:.4f}",
            f"{m['mrr@10']:.4f}",
            f"{m['ms_per_query']:.1f}",
        )
    out.print(table)
    out.print(f"best: {report['best']}; calibration: {json.dumps(report['calibration'])}")


def train_retrieval(
    data: DataOpt,
    output: Annotated[
        Path | None, typer.Option("--out", help="Where to write the calibrator JSON.")
    ] = None,
    cache: Annotated[
        Path | None, typer.Option(help="Keep the indexed corpus here to reuse on the next run.")
    ] = None,
) -> None:
    """Fit the retrieval expert's confidence calibrator on the dev half of a BEIR folder."""
    import tempfile

    from podium.errors import PodiumError
    from podium.experts.retrieval.calibration import CALIBRATOR_PATH, RetrievalCalibrator
    from podium.experts.retrieval.evaluate import build_store, load_beir, run_queries

    try:
        beir = load_beir(data)
        with tempfile.TemporaryDirectory(prefix="podium-train-") as tmp:
            if cache:
                cache.mkdir(parents=True, exist_ok=True)
            store = build_store(beir, cache or Path(tmp))
            runs = run_queries(store, beir, ("hybrid",), k=10)["hybrid"]
            store.close()
    except PodiumError as exc:
        raise fail(exc) from None
    calibrator = RetrievalCalibrator.fit(runs, beir.qrels)
    target = output or CALIBRATOR_PATH
    calibrator.save(target)
    out.print(f"wrote {target}: {json.dumps(calibrator.assess(runs, beir.qrels))}")


def register(app: typer.Typer, eval_app: typer.Typer, train_app: typer.Typer) -> None:
    app.command("ingest")(ingest)
    app.add_typer(index_app, name="index")
    eval_app.command("retrieval")(eval_retrieval)
    train_app.command("retrieval")(train_retrieval)
