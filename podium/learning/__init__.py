"""Podium learns from its own runs: verified examples (with who vouched for them) flow back
into the small experts' few-shot pool, calibrators and the semantic router.

    podium feedback RUN_ID STEP_ID good|bad     # a person's verdict
    podium learn [--expert NAME]                # refresh, keep only what is not worse
    podium export examples --expert nl2sql      # chat-format JSONL for fine-tuning elsewhere
"""

from __future__ import annotations

import logging
from typing import TYPE_CHECKING

from .components import attach, learn
from .examples import Example, ExampleStore, StepNotFound
from .refresh import Refresh

if TYPE_CHECKING:
    from .host import LearningHost

__all__ = ["Example", "ExampleStore", "Refresh", "StepNotFound", "after_run", "attach", "learn"]
log = logging.getLogger(__name__)


def after_run(podium: LearningHost, run_id: str) -> None:
    """Harvest what a finished run's own decisions vouch for (never fails the run)."""
    if podium.store is None:
        return
    try:
        ExampleStore(podium.store).harvest(run_id)
    except Exception as exc:  # learning is a by-product; the run's result stands
        log.warning("could not harvest verified examples from run %s: %s", run_id, exc)
