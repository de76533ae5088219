"""CLI: ``podium match``, ``podium eval schema_match`` and ``podium train schema_match``."""

from __future__ import annotations

import asyncio
import json
from pathlib import Path
from typing import Annotated, Any

import typer
from rich.table import Table

from podium.cli.options import err, fail, out
from podium.errors import PodiumError

RerankOpt = Annotated[
    str | None,
    typer.Option(
        "--rerank-model",
        help="Let this model (URI, e.g. openai:gpt-4o-mini) rerank each column's candidates.",
    ),
]


def match(
    source: Annotated[str, typer.Argument(help="CSV path or '<sqlalchemy-url>#<table>'.")],
    target: Annotated[str, typer.Argument(help="CSV path or '<sqlalchemy-url>#<table>'.")],
    top_k: Annotated[int, typer.Option(help="Candidates shown per column.")] = 3,
    one_to_one: Annotated[
        bool, typer.Option("--one-to-one", help="Each target column used at most once.")
    ] = False,
    threshold: Annotated[
        float | None, typer.Option(help="Accept a best candidate at or above this score.")
    ] = None,
    rerank_model: RerankOpt = None,
    as_json: Annotated[bool, typer.Option("--json", help="Print one JSON object.")] = False,
) -> None:
    """Find which columns of SOURCE mean the same as columns of TARGET."""
    from podium.experts.schema_match.match import match_tables

    try:
        result = match_tables(
            source, target, top_k=top_k, one_to_one=one_to_one, threshold=threshold
        )
        if rerank_model:
            result = _rerank(result, rerank_model, top_k=max(top_k, 5))
    except PodiumError as exc:
        raise fail(exc) from None
    if as_json:
        out.print_json(json.dumps(result.to_dict()))
        return
    table = Table(title=f"{result.source.name} → {result.target.name}")
    for header in ("source", "match", "conf", "candidates (score; signals that agreed)"):
        table.add_column(header, overflow="fold")
    for col in result.columns:
        cands = "; ".join(
            f"{c.target} {c.score:.2f}" + (f" [{','.join(c.agreed)}]" if c.agreed else "")
            for c in col.candidates
        )
        table.add_row(col.source, col.match or "-", f"{col.confidence:.2f}", cands)
    out.print(table)
    err.print(f"{len(result.matches)} of {len(result.source)} columns matched")


def _rerank(result: Any, model: str, top_k: int) -> Any:
    from podium.experts.schema_match.rerank import LLMRerank, llm_rerank, summarize_rerank
    from podium.models.provider import ModelProvider
    from podium.models.uri import parse_model_uri

    parse_model_uri(model)
    provider = ModelProvider({"large": model})
    result = asyncio.run(llm_rerank(result, provider, LLMRerank(model=model, top_k=top_k)))
    err.print(f"rerank by {model}: {summarize_rerank(result.rerank)}")
    return result


def eval_schema_match(
    data: Annotated[Path, typer.Option(help="Folder of pairs (source/target/groundtruth.csv).")],
    matcher: Annotated[
        str, typer.Option(help="combined, or one signal: name, embedding, value_jaccard, ...")
    ] = "combined",
    lopo: Annotated[
        bool, typer.Option("--lopo", help="Refit the combination leaving each pair out.")
    ] = False,
    rerank_model: RerankOpt = None,
    rerank_top_k: Annotated[int, typer.Option(help="Candidates the reranker sees.")] = 5,
    as_json: Annotated[bool, typer.Option("--json", help="Print one JSON object.")] = False,
) -> None:
    """Recall@ground-truth, top-1, precision, recall and F1 per pair and averaged."""
    from podium.experts.schema_match.evaluate import evaluate, evaluate_reranked

    try:
        if rerank_model:
            report = evaluate_reranked(data, rerank_model, lopo=lopo, top_k=rerank_top_k)
        else:
            report = evaluate(data, matcher=matcher, lopo=lopo)
    except PodiumError as exc:
        raise fail(exc) from None
    if as_json:
        out.print_json(json.dumps(report))
        return
    table = Table(title=f"schema_match · {report['matcher']}" + (" · LOPO" if lopo else ""))
    keys = ("recall_at_gt", "top1", "precision", "recall", "f1")
    for col in ("pair", "gt", *keys):
        table.add_column(col)
    for r in report["pairs"]:
        table.add_row(r["pair"], str(r["ground_truth"]), *(f"{r[k]:.3f}" for k in keys))
    table.add_row("[bold]mean[/]", "", *(f"[bold]{report[k]:.3f}[/]" for k in keys))
    out.print(table)
    if "rerank" in report:
        err.print(f"rerank: {report['rerank']}")


def train_schema_match(
    data: Annotated[Path, typer.Option(help="Folder of labelled pairs to learn from.")],
    out_path: Annotated[
        Path | None, typer.Option("--out", help="Where to write the weights (default: shipped).")
    ] = None,
) -> None:
    """Fit the combined score (logistic regression over the signals) on labelled pairs."""
    from podium.experts.schema_match.combine import WEIGHTS_PATH, fit
    from podium.experts.schema_match.evaluate import find_pairs, load_pair

    try:
        pairs = [load_pair(p) for p in find_pairs(data)]
        model = fit([(p.signals, p.labels) for p in pairs], names=[p.name for p in pairs])
    except PodiumError as exc:
        raise fail(exc) from None
    target = out_path or WEIGHTS_PATH
    model.save(target)
    err.print(f"trained on {len(pairs)} pairs; threshold {model.threshold:.3f}")
    out.print(str(target))


def register(app: typer.Typer, eval_app: typer.Typer, train_app: typer.Typer) -> None:
    app.command("match")(match)
    eval_app.command("schema_match")(eval_schema_match)
    train_app.command("schema_match")(train_schema_match)
