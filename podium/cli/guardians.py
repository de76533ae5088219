"""CLI: ``podium eval guard``, ``podium train guard``, ``podium audit verify``."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Annotated, Any

import typer
from rich.table import Table

from podium.cli.options import JsonOpt, err, load_workspace, out
from podium.errors import PodiumError

DataOpt = Annotated[Path, typer.Option("--data", help="Folder with labelled prompts.jsonl.")]


def _fail(exc: PodiumError) -> typer.Exit:
    err.print(f"[bold red]error:[/] {exc}", highlight=False)
    return typer.Exit(2)


def register(app: typer.Typer, eval_app: typer.Typer, train_app: typer.Typer) -> None:
    audit_app = typer.Typer(help="The guardians' hash-chained audit log.", no_args_is_help=True)
    app.add_typer(audit_app, name="audit")

    @eval_app.command("guard")
    def eval_guard(data: DataOpt, as_json: JsonOpt = False) -> None:
        """Detection figures (AUROC, TPR at 1 % FPR, benign FPR) on labelled JSONL."""
        from podium.guardians.evaluate import evaluate

        try:
            result = evaluate(data)
        except PodiumError as exc:
            raise _fail(exc) from None
        if as_json:
            out.print_json(json.dumps(result))
            return
        _table(result)

    @train_app.command("guard")
    def train_guard(
        data: Annotated[
            Path, typer.Option("--data", help="Folder holding guard/ and injection/ slices.")
        ],
        output: Annotated[
            Path | None,
            typer.Option("--out", help="Where to write the weights (default: the package)."),
        ] = None,
        as_json: JsonOpt = False,
    ) -> None:
        """Fit the attack classifier's heads on the public slices (reproducible)."""
        from podium.guardians.classifier import WEIGHTS
        from podium.guardians.train import train

        try:
            meta = train(data, output or WEIGHTS)
        except PodiumError as exc:
            raise _fail(exc) from None
        if as_json:
            out.print_json(json.dumps(meta))
            return
        for head in ("prompt", "document"):
            cv = meta[head]["cv"]
            out.print(
                f"{head}: n={meta[head]['n']} out-of-fold AUROC {cv['auroc']} "
                f"TPR@1%FPR {cv['tpr_at_1pct_fpr']} threshold {meta[head]['threshold']:.3f}"
            )
        err.print(f"wrote {output or WEIGHTS}")

    @audit_app.command("verify")
    def audit_verify(
        workspace: Annotated[
            Path | None, typer.Option("--workspace", "-w", help="Workspace folder.")
        ] = None,
        url: Annotated[str | None, typer.Option(help="Audit database URL instead.")] = None,
        as_json: JsonOpt = False,
    ) -> None:
        """Walk the audit chain; exit 1 if any record was edited, removed or reordered."""
        from podium.guardians.audit import AuditLog
        from podium.guardians.policy import GuardPolicy

        try:
            if url is None:
                ws = load_workspace(workspace)
                policy = GuardPolicy.from_workspace(ws)
                url = policy.audit_url or f"sqlite:///{ws.data_dir / 'audit.sqlite'}"
            report = AuditLog(url).verify()
        except PodiumError as exc:
            raise _fail(exc) from None
        if as_json:
            out.print_json(json.dumps(report.__dict__))
        elif report.ok:
            out.print(f"audit chain intact: {report.records} records, head {report.head[:16]}")
        else:
            out.print(
                f"[bold red]audit chain broken[/] at record {report.record_id}: {report.problem}"
            )
        if not report.ok:
            raise typer.Exit(1)


def _table(result: dict[str, Any]) -> None:
    table = Table(title=f"guard · {result['head']} head · n={result['n']}")
    for col in ("", "AUROC", "TPR@1%FPR", "benign FPR", "TPR"):
        table.add_column(col)
    base = result["baseline_prompt_guardrail"]
    cv = result["cross_validated"]
    table.add_row(
        "Podium" + (" (in-sample)" if result["in_sample"] else ""),
        str(result["auroc"]),
        str(result["tpr_at_1pct_fpr"]),
        str(result["benign_fpr"]),
        str(result["tpr"]),
    )
    if cv:
        table.add_row(
            "Podium, out-of-fold at training", str(cv["auroc"]), str(cv["tpr_at_1pct_fpr"]), "", ""
        )
    table.add_row(
        "prompt-guardrail alone",
        str(base["auroc"]),
        str(base["tpr_at_1pct_fpr"]),
        str(base["benign_fpr"]),
        str(base["tpr"]),
    )
    out.print(table)
    out.print(f"{result['ms_per_text']} ms per text")
