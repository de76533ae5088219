"""``--write-policy``: turn a bench report into the expert's policy card in a workspace."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from podium.orchestrator.collaboration.calibration import Calibrator
from podium.orchestrator.policy_cards import PolicyCard, cards_dir, choose, write_card

from .core import BenchReport
from .tasks.base import BenchTask


def write_policy(
    report: BenchReport, task: BenchTask, workspace: Any, *, command: str = ""
) -> tuple[PolicyCard, Path]:
    """Write the Pareto-best strategy of ``report`` as ``task.expert``'s policy card (with the
    fitted calibrator beside it when the policy reads one); returns the card and its path."""
    if not task.expert:
        raise ValueError(f"bench task {task.name!r} names no expert to write a policy for")
    strategy = choose(report.strategies)
    best = max(report.strategies, key=lambda k: report.strategies[k].accuracy)
    calibrator: str | None = None
    if strategy in ("cascade", "draft_finalise") and "calibrator" in report.calibration:
        cal = Calibrator.model_validate(report.calibration["calibrator"])
        path = cards_dir(workspace) / "calibrators" / f"{task.expert}.json"
        path.parent.mkdir(parents=True, exist_ok=True)
        cal.save(path)
        calibrator = str(path)
    threshold = float(report.calibration.get("threshold", 0.5))
    chosen = report.strategies[strategy]
    card = PolicyCard(
        expert=task.expert,
        strategy=strategy,
        policy=task.policy(strategy, threshold, calibrator),
        metric=report.metric,
        quality=chosen.accuracy,
        ci95=(chosen.ci_low, chosen.ci_high),
        large_calls_per_example=chosen.large_calls_per_example,
        reached_large=chosen.reached_large,
        best_strategy=best,
        best_quality=report.strategies[best].accuracy,
        n=report.n,
        task=report.task,
        small=report.small,
        large=report.large,
        command=command,
    )
    return card, write_card(workspace, card)
