"""What ``podium bench`` writes: ``table.md``, ``figures.json``, ``report.json``, the
cost/quality plot and, when the run fit one, the small expert's calibrator."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from podium.orchestrator.collaboration.calibration import Calibrator

from .core import BenchReport


def markdown(report: BenchReport) -> str:
    lines = [
        f"**{report.task}**, n = {report.n}; small: {report.small}; large: {report.large}",
        "",
        f"| strategy | {report.metric} | 95 % CI | large calls | reached large "
        "| fixed / broke vs small | tokens / example | s / example (under load) |",
        "|---|---|---|---|---|---|---|---|",
    ]
    for name, s in report.strategies.items():
        versus = (
            f"{s.extra['fixed_vs_small']} / {s.extra['broke_vs_small']}"
            if "fixed_vs_small" in s.extra
            else "–"
        )
        lines.append(
            f"| {name} | {s.accuracy:.3f} | {s.ci_low:.2f}–{s.ci_high:.2f} | {s.large_calls} "
            f"| {s.reached_large:.0%} | {versus} | {s.tokens_per_example:.0f} | {s.seconds:.2f} |"
        )
    cal = report.calibration
    if cal:
        lines += [
            "",
            f"Calibration (isotonic, {cal.get('n')} held-out examples): ECE "
            f"{cal.get('ece_before')} → {cal.get('ece_after')} (cross-fitted); cascade "
            f"threshold {cal.get('threshold')} fit to a budget of {cal.get('budget')}.",
        ]
    lines += [f"- {note}" for note in report.notes]
    return "\n".join(lines) + "\n"


def write_outputs(report: BenchReport, out_dir: Path) -> None:
    out_dir.mkdir(parents=True, exist_ok=True)
    (out_dir / "figures.json").write_text(json.dumps(report.figures(), indent=1))
    (out_dir / "report.json").write_text(report.model_dump_json(indent=1))
    (out_dir / "table.md").write_text(markdown(report))
    if "calibrator" in report.calibration:  # the small expert's calibrator, to ship with it
        cal = Calibrator.model_validate(report.calibration["calibrator"])
        cal.report = {k: v for k, v in report.calibration.items() if k != "calibrator"}
        cal.save(out_dir / "calibrator.json")
    plot(report, out_dir / "cost_quality.png")


def plot(report: BenchReport, path: Path) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots(figsize=(6, 4), dpi=100)
    for name, s in report.strategies.items():
        x = s.large_calls_per_example
        err_bar: Any = [[s.accuracy - s.ci_low], [s.ci_high - s.accuracy]]
        ax.errorbar([x], [s.accuracy], yerr=err_bar, fmt="o", capsize=3)
        ax.annotate(name, (x, s.accuracy), textcoords="offset points", xytext=(5, 5))
    ax.set_xlabel("large-model calls per example")
    ax.set_ylabel(f"{report.metric} (95 % CI)")
    ax.set_title(f"{report.task}: quality vs large-model cost (n={report.n})")
    ax.grid(alpha=0.3)
    fig.tight_layout()
    fig.savefig(path)
    plt.close(fig)
