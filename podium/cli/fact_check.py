"""``podium train fact_check`` and ``podium eval fact_check``."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Annotated

import typer
from rich.table import Table

from podium.cli.options import err, fail, out
from podium.errors import InputRejected, PodiumError
from podium.experts.fact_check.train_cross import CrossConfig

DataOpt = Annotated[
    Path, typer.Option("--data", help="Folder with pairs.jsonl (and claims.jsonl).")
]


def register(app: typer.Typer, eval_app: typer.Typer, train_app: typer.Typer) -> None:
    train_app.command("fact_check")(train_cmd)
    eval_app.command("fact_check")(eval_cmd)


def train_cmd(
    data: DataOpt,
    out_path: Annotated[
        Path | None,
        typer.Option(
            "--out",
            help="Where to write the weights (default: the shipped file); the cross-encoder's "
            "card goes beside them as .json.",
        ),
    ] = None,
    model: Annotated[
        str,
        typer.Option(
            help="cross: fine-tune MiniLM's top layers on the pairs (verifier 'cross'); "
            "head: a logistic head on frozen MiniLM features (the default verifier)."
        ),
    ] = "cross",
    seed: Annotated[int, typer.Option(help="Seed of the claim split, folds and training.")] = 0,
    epochs: Annotated[int, typer.Option(min=1, help="Epochs (cross only).")] = CrossConfig.epochs,
    top: Annotated[
        int, typer.Option(min=1, max=6, help="MiniLM layers to fine-tune (cross only).")
    ] = CrossConfig.top,
    augment: Annotated[
        bool, typer.Option(help="Add contrast pairs made from the train claims (augment.py).")
    ] = True,
    as_json: Annotated[bool, typer.Option("--json", help="Print the report as JSON.")] = False,
) -> None:
    """Train the fact-check verifier on the train claims of DATA (claim-level split)."""
    log = lambda m: err.print(m, highlight=False)  # noqa: E731
    if model not in ("cross", "head"):
        raise fail(InputRejected(f"unknown --model {model!r}", hint="use cross or head"))
    try:
        if model == "cross":
            import torch

            from podium.experts.fact_check.cross import builtin_delta
            from podium.experts.fact_check.train_cross import train_cross

            torch.set_num_threads(min(2, torch.get_num_threads()))
            cfg = CrossConfig(top=top, epochs=epochs, augment=augment, seed=seed)
            pair_model, card, report = train_cross(data, cfg, log=log)
            target = out_path or builtin_delta()
            pair_model.save(target)
            card.save(target.with_suffix(".json"))
        else:
            from podium.experts.fact_check.train import train
            from podium.experts.fact_check.verifier import builtin_weights

            head, report = train(data, seed=seed, log=log, augment=augment)
            target = out_path or builtin_weights()
            head.save(target)
    except PodiumError as exc:
        raise fail(exc) from None
    report["weights"] = str(target)
    err.print(f"wrote {target} ({target.stat().st_size / 1024:.0f} KB)")
    if as_json:
        out.print_json(json.dumps(report))
    else:
        _table("validation pairs (claims never trained on)", report["validation"])
        if report["validation_claims"].get("n"):
            _table("validation claims", report["validation_claims"])


def eval_cmd(
    data: DataOpt,
    verifier: Annotated[
        str | None,
        typer.Option(
            help="builtin, cross, a .safetensors / .npz from podium train, or an NLI "
            "cross-encoder folder."
        ),
    ] = None,
    as_json: Annotated[bool, typer.Option("--json", help="Print one JSON object.")] = False,
) -> None:
    """Measure the verifier on DATA's claims it was not trained on."""
    from podium.experts.fact_check.train import evaluate
    from podium.experts.fact_check.verifier import load_verifier

    try:
        result = evaluate(data, load_verifier(verifier))
    except PodiumError as exc:
        raise fail(exc) from None
    if as_json:
        out.print_json(json.dumps(result))
        return
    _table(f"{result['verifier']} · pairs", result)
    if result["claims"].get("n"):
        _table("claims", result["claims"])
    err.print(f"left out {result['left_out_training_pairs']} pairs of training claims")


def _table(title: str, res: dict) -> None:
    table = Table(title=title)
    for col in ("metric", "value"):
        table.add_column(col)
    for key in ("n", "accuracy", "balanced_accuracy", "macro_f1", "ece"):
        if key in res:
            table.add_row(key, str(res[key]))
    for name, f1 in res.get("f1", {}).items():
        table.add_row(f"F1 {name}", f"{f1} (n={res['support'][name]})")
    out.print(table)
