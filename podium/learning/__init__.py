"""Podium learns from its own runs: verified examples (with who vouched for them) flow back
into the small experts' few-shot pool, calibrators, the semantic router and the trained heads.

    podium feedback RUN_ID STEP_ID good|bad     # a person's verdict
    podium learn [--expert NAME]                # refresh, keep only what is not worse
    [learning] refresh_every = N                # ... or in the background, every N examples
    podium export examples --expert nl2sql      # chat-format JSONL for fine-tuning elsewhere
"""

from __future__ import annotations

import logging
from typing import TYPE_CHECKING

from . import auto
from .components import attach, learn
from .examples import Example, ExampleStore, StepNotFound
from .refresh import Refresh
from .vouchers import may_vouch

if TYPE_CHECKING:
    from .host import LearningHost

__all__ = [
    "Example",
    "ExampleStore",
    "Refresh",
    "StepNotFound",
    "after_run",
    "attach",
    "learn",
    "may_vouch",
]
log = logging.getLogger(__name__)


def after_run(podium: LearningHost, run_id: str) -> None:
    """Harvest what a finished run's own decisions vouch for (never fails the run)."""
    if podium.store is None:
        return
    try:
        if ExampleStore(podium.store).harvest(run_id):
            auto.examples_added(podium)  # [learning] refresh_every: refresh in the background
    except Exception as exc:  # learning is a by-product; the run's result stands
        log.warning("could not harvest verified examples from run %s: %s", run_id, exc)
