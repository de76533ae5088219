"""One refresh of one learned component, kept only when it is not worse.

The verified examples are split into a learning part and a held-back part (every fifth
example by id, at least one). The candidate is built from the learning part; the component
now in use (the last kept refresh, or nothing) and the candidate are both scored on the
held-back part — with the held-back examples themselves out of both — and the candidate is
published only when its score is at least the current one. Either way the refresh is
recorded: ``podium learn --history`` lists before, after, kept or rolled back.
"""

from __future__ import annotations

import contextlib
import fcntl
import time
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Generic, TypeVar

import sqlalchemy as sa
from sqlalchemy.orm import Session

from podium.memory.tables import RefreshRow

T = TypeVar("T")
HOLD_EVERY = 5


@dataclass
class Refresh:
    """What one refresh did, as ``podium learn --json`` prints it."""

    expert: str
    component: str
    status: str  # kept | rolled_back | skipped
    metric: str
    before: float | None
    after: float | None
    learned_from: int
    held_back: int
    note: str = ""

    def as_dict(self) -> dict[str, Any]:
        return dict(self.__dict__)


@contextlib.contextmanager
def one_at_a_time(folder: Path) -> Iterator[None]:
    """Hold the workspace's learning lock: one refresh at a time, across processes too (the
    server's background refresh, ``podium learn``, a refresh a CLI command started)."""
    folder.mkdir(parents=True, exist_ok=True)
    with (folder / "learn.lock").open("a") as handle:
        fcntl.flock(handle, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(handle, fcntl.LOCK_UN)


def split(items: Sequence[T], key: Callable[[T], int]) -> tuple[list[T], list[T]]:
    """(learning part, held-back part): every ``HOLD_EVERY``-th by id, at least one held back
    when there are two or more items."""
    ordered = sorted(items, key=key)
    held = [x for x in ordered if key(x) % HOLD_EVERY == 0]
    if not held and len(ordered) >= 2:
        held = [ordered[-1]]
    held_ids = {key(x) for x in held}
    return [x for x in ordered if key(x) not in held_ids], held


@dataclass
class Component(Generic[T]):
    """A learnable part: how to build a candidate from items and how to score one."""

    expert: str
    name: str
    metric: str
    build: Callable[[list[T]], Any]  # items -> artifact (JSON-ready)
    score: Callable[[Any, list[T]], float]  # (artifact or None, held-back items) -> higher better
    key: Callable[[T], int]
    minimum: int = 5
    unit: str = "verified example(s)"
    # What to do with a candidate that was rolled back (e.g. delete its weights file).
    discard: Callable[[Any], None] | None = None


def published(engine: sa.Engine, expert: str, component: str) -> Any:
    """The artifact of the last kept refresh (``None`` when nothing was ever kept)."""
    with Session(engine) as s:
        row = s.scalar(
            sa.select(RefreshRow)
            .where(
                RefreshRow.expert == expert,
                RefreshRow.component == component,
                RefreshRow.status == "kept",
            )
            .order_by(RefreshRow.id.desc())
            .limit(1)
        )
        return None if row is None else row.artifact


def history(engine: sa.Engine, limit: int = 50) -> list[dict[str, Any]]:
    with Session(engine) as s:
        rows = s.scalars(sa.select(RefreshRow).order_by(RefreshRow.id.desc()).limit(limit))
        return [
            {
                c.name: getattr(r, c.name)
                for c in RefreshRow.__table__.columns
                if c.name != "artifact"
            }
            for r in rows
        ]


def refresh(
    engine: sa.Engine,
    component: Component[T],
    items: list[T],
    minimum: int | None = None,
    *,
    unavailable: str = "",
    why: str = "",
) -> Refresh:
    """Build, compare on the held-back part, publish or roll back, and record it.

    ``unavailable``: why the component cannot be built here (recorded as skipped); ``why``:
    what started the refresh, recorded at the front of its note (e.g. an automatic one)."""
    started = time.time()  # examples that arrive while it runs are new to the next refresh
    minimum = component.minimum if minimum is None else max(2, minimum)
    learn, held = split(items, component.key)
    result = Refresh(
        component.expert,
        component.name,
        "skipped",
        component.metric,
        None,
        None,
        len(learn),
        len(held),
    )
    artifact: Any = None
    if len(items) < minimum or not learn or not held:
        result.note = f"{len(items)} {component.unit}; at least {minimum} are needed"
    elif unavailable:
        result.note = unavailable
    else:
        current = published(engine, component.expert, component.name)
        artifact = component.build(learn)
        result.before = round(component.score(current, held), 4)
        result.after = round(component.score(artifact, held), 4)
        if result.after >= result.before:
            result.status = "kept"
        else:
            result.status = "rolled_back"
            result.note = "worse on the held-back examples: the previous version stays in use"
            if component.discard is not None:
                component.discard(artifact)
    about = artifact.get("about") if isinstance(artifact, dict) else None
    if about and result.status != "skipped":
        result.note = f"{result.note}; {about}" if result.note else str(about)
    if why:
        result.note = f"{why}; {result.note}" if result.note else why
    with Session(engine) as s, s.begin():
        s.add(
            RefreshRow(
                expert=result.expert,
                component=result.component,
                status=result.status,
                before=result.before,
                after=result.after,
                metric=result.metric,
                held_back=result.held_back,
                artifact=artifact,
                note=result.note,
                created_at=started,
            )
        )
    return result
