"""Automatic refresh: ``[learning] refresh_every = N`` runs the gated refresh of ``podium learn
--expert NAME`` in the background after every N new verified examples of an expert (and the
semantic router's after every N new examples of any expert). Off by default.

Off the request path: a run (or a thumbs-up) only pokes this Podium's worker thread and
returns; the worker looks for what is due and refreshes it, one refresh at a time (the
workspace's learning lock also keeps it from overlapping a ``podium learn`` or another
process's refresh). Each refresh is recorded with the others (``podium learn --history``), its
note starting ``automatic``. The worker is not a daemon: a process that started a refresh
finishes it before it exits, so its outcome is never lost half-way.
"""

from __future__ import annotations

import logging
import subprocess
import sys
import threading
import weakref
from typing import TYPE_CHECKING, Any

import sqlalchemy as sa
from sqlalchemy.orm import Session

from podium.memory.tables import ExampleRow, RefreshRow

from .components import _learn
from .examples import GUARD, ExampleStore
from .heads import FACT_CHECK, learned_dir
from .refresh import one_at_a_time

if TYPE_CHECKING:
    from podium.workspace import Workspace

    from .host import LearningHost

log = logging.getLogger(__name__)
ROUTER = "router"


def every(workspace: Workspace) -> int | None:
    """N of ``[learning] refresh_every`` (None: automatic refresh is off)."""
    return workspace.config.learning.refresh_every


def due(podium: LearningHost, n: int) -> dict[str, int]:
    """What has at least ``n`` verified examples newer than its last refresh: expert (or
    ``router``) → how many. Only experts with something to relearn count (NL2SQL's few-shot
    pool, the trained heads, a calibrator that has verdicts)."""
    assert podium.store is not None
    counts = new_examples(podium.store.engine, n)
    return {e: k for e, k in counts.items() if e == ROUTER or _learnable(podium, e)}


def new_examples(engine: sa.Engine, n: int) -> dict[str, int]:
    """Expert (or ``router``: every expert's) → verified examples newer than its last
    refresh, where there are at least ``n``."""
    with Session(engine) as s:
        last = dict(
            s.execute(
                sa.select(RefreshRow.expert, sa.func.max(RefreshRow.created_at)).group_by(
                    RefreshRow.expert
                )
            ).all()
        )
        rows = s.execute(
            sa.select(ExampleRow.expert, ExampleRow.created_at).where(ExampleRow.status == "active")
        ).all()
    new: dict[str, int] = {}
    for expert, created in rows:
        if created > (last.get(expert) or 0.0):
            new[expert] = new.get(expert, 0) + 1
        if expert != GUARD and created > (last.get(ROUTER) or 0.0):
            new[ROUTER] = new.get(ROUTER, 0) + 1
    return {e: k for e, k in new.items() if k >= n}


def _learnable(podium: LearningHost, expert: str) -> bool:
    if expert == GUARD:
        return True
    if expert not in podium.registry:
        return False
    assert podium.store is not None
    return expert in ("nl2sql", FACT_CHECK) or bool(ExampleStore(podium.store).outcomes(expert))


def refresh_due(podium: LearningHost, n: int) -> list[Any]:
    """Refresh everything that is due, under the workspace's learning lock."""
    done: list[Any] = []
    with one_at_a_time(learned_dir(podium)):
        for name, k in due(podium, n).items():  # read under the lock: nothing twice
            why = f"automatic, after {k} new verified example(s)"
            done += _learn(podium, name, None, None, why)
    return done


class _Worker:
    """One background thread per Podium, started when poked and gone when nothing is due."""

    def __init__(self, podium: LearningHost) -> None:
        self.podium = podium
        self.cond = threading.Condition()
        self.pending = False
        self.thread: threading.Thread | None = None

    def poke(self) -> None:
        with self.cond:
            self.pending = True
            if self.thread is None:
                self.thread = threading.Thread(target=self._loop, name="podium-learn", daemon=False)
                self.thread.start()

    def _loop(self) -> None:
        while True:
            with self.cond:
                if not self.pending:
                    self.thread = None
                    self.cond.notify_all()
                    return
                self.pending = False
            n = every(self.podium.workspace)
            try:
                if n:
                    refresh_due(self.podium, n)
            except Exception as exc:  # a refresh that fails leaves what is in use alone
                log.warning("automatic learning refresh failed: %s", exc)

    def wait(self, timeout: float | None) -> bool:
        with self.cond:
            return self.cond.wait_for(lambda: self.thread is None, timeout)


_WORKERS: weakref.WeakKeyDictionary[Any, _Worker] = weakref.WeakKeyDictionary()
_LOCK = threading.Lock()


def examples_added(podium: LearningHost) -> None:
    """New verified examples may have made a refresh due: check in the background (returns at
    once; a no-op unless ``[learning] refresh_every`` is set)."""
    if podium.store is None or not every(podium.workspace):
        return
    with _LOCK:
        worker = _WORKERS.get(podium)
        if worker is None:
            worker = _WORKERS[podium] = _Worker(podium)
    worker.poke()


def wait(podium: LearningHost, timeout: float | None = None) -> bool:
    """Wait until this Podium's automatic refresh (if any) is done; False on timeout."""
    with _LOCK:
        worker = _WORKERS.get(podium)
    return True if worker is None else worker.wait(timeout)


def start_detached(workspace: Workspace) -> None:
    """``podium learn --due`` in a process of its own, for a short-lived command (``podium
    feedback``) that has no Podium to keep a worker thread in."""
    subprocess.Popen(
        [sys.executable, "-m", "podium.cli", "learn", "--due", "--workspace", str(workspace.root)],
        stdin=subprocess.DEVNULL,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        start_new_session=True,  # outlives the command that started it
    )
