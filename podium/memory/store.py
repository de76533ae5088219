"""The run store (SQLAlchemy 2): runs, their steps and every event, in SQLite by default and
in any database SQLAlchemy speaks by URL.

Events are written by a background thread in batches (one transaction per batch), so a run's
event loop never waits on disk and parallel steps are not serialised behind SQLite commits. A
step's row and its ``step_finished`` event are always in the same transaction, so a crash never
leaves a half-written step; ``flush()`` waits until everything queued is on disk.
"""

from __future__ import annotations

import contextlib
import queue
import threading
import time
from typing import Any

import sqlalchemy as sa
from sqlalchemy.orm import Session

from podium.errors import RunNotFound, StoreUnavailable
from podium.records import RunRecord, RunSummary, VerdictRecord

from .engine import busy_timeout_s, make_engine
from .schema import migrate
from .tables import EventRow, RunRow, StepRow

_EVENTS: sa.Table = EventRow.__table__  # type: ignore[assignment]
_STEPS: sa.Table = StepRow.__table__  # type: ignore[assignment]
_RUNS: sa.Table = RunRow.__table__  # type: ignore[assignment]
# A step row first seen in a batch: what the columns hold until its events say otherwise.
_NEW_STEP: dict[str, Any] = {
    "input": "",
    "status": "running",
    "output": None,
    "confidence": 0.0,
    "error": None,
    "model": "",
    "input_tokens": 0,
    "output_tokens": 0,
    "ms": 0.0,
}


class RunStore:
    """Reads and writes runs. One instance per store URL is enough; it is thread-safe."""

    def __init__(self, url: str) -> None:
        self.url = url
        self.engine = make_engine(url)
        migrate(self.engine)
        self._lock = threading.Lock()
        self._queue: queue.Queue[dict[str, Any]] = queue.Queue()
        self._writer: threading.Thread | None = None
        self._write_error: BaseException | None = None

    # -- writes ---------------------------------------------------------------------------

    def start_run(
        self,
        run_id: str,
        task: str,
        *,
        planner: str = "",
        workspace: str = "",
        conversation_id: str | None = None,
    ) -> None:
        with self._writing(), Session(self.engine) as s, s.begin():
            s.add(
                RunRow(
                    id=run_id,
                    task=task,
                    planner=planner,
                    workspace=workspace,
                    conversation_id=conversation_id,
                )
            )

    def record_event(self, event: dict[str, Any]) -> None:
        """Queue one event for the writer thread (returns at once)."""
        with self._lock:
            if self._writer is None or not self._writer.is_alive():
                self._writer = threading.Thread(
                    target=self._write_loop, daemon=True, name="podium-store-writer"
                )
                self._writer.start()
        self._queue.put(event)

    def flush(self) -> None:
        """Wait until every queued event is committed; raise if the writer failed."""
        self._queue.join()
        if self._write_error is not None:
            error, self._write_error = self._write_error, None
            raise error

    def _write_loop(self) -> None:
        while True:
            batch = [self._queue.get()]
            while len(batch) < 500:
                try:
                    batch.append(self._queue.get_nowait())
                except queue.Empty:
                    break
            try:
                with self._writing():
                    self._write_batch(batch)
            except Exception as exc:  # reported by flush(); the run itself goes on
                self._write_error = exc
            finally:
                for _ in batch:
                    self._queue.task_done()

    def _write_batch(self, batch: list[dict[str, Any]]) -> None:
        """One transaction: all events, the step rows they imply, plans onto their runs.

        Core statements, not ORM objects: the writer shares the interpreter with the run, and
        a unit of work per step row cost more than the step itself (benchmarks/overhead.py).
        """
        steps: dict[tuple[str, str], dict[str, Any]] = {}
        plans: dict[str, Any] = {}
        for event in batch:
            kind = event["type"]
            if kind in ("step_started", "step_finished"):
                key = (event["run_id"], event["step_id"])
                row = steps.setdefault(
                    key, {"run_id": key[0], "step_id": key[1], "expert": event["expert"]}
                )
                if kind == "step_started":
                    row.update(input=event["input"], status="running")
                else:
                    cost = event.get("cost") or {}
                    row.update(
                        status=event["status"],
                        output=event.get("output"),
                        confidence=event.get("confidence", 0.0),
                        error=event.get("error"),
                        model=cost.get("model", ""),
                        input_tokens=cost.get("input_tokens", 0),
                        output_tokens=cost.get("output_tokens", 0),
                        ms=cost.get("ms", 0.0),
                    )
            elif kind == "plan":
                plans[event["run_id"]] = event["plan"]
            elif kind == "expert_note" and "plan" in (event.get("data") or {}):
                # a step added while the run went on (a fallback): the plan as it now is
                plans[event["run_id"]] = event["data"]["plan"]
        with self.engine.begin() as conn:
            conn.execute(
                sa.insert(_EVENTS),
                [
                    {
                        "run_id": e["run_id"],
                        "seq": e["seq"],
                        "type": e["type"],
                        "ts": e["ts"],
                        "data": e,
                    }
                    for e in batch
                ],
            )
            if steps:
                keys = sa.select(_STEPS.c.run_id, _STEPS.c.step_id).where(
                    sa.tuple_(_STEPS.c.run_id, _STEPS.c.step_id).in_(list(steps))
                )
                existing = {(r[0], r[1]) for r in conn.execute(keys)}
                new = [{**_NEW_STEP, **f} for k, f in steps.items() if k not in existing]
                if new:
                    conn.execute(sa.insert(_STEPS), new)
                # Rows a previous batch inserted: the fields this batch saw, grouped by which
                # fields they are (one executemany per shape).
                shapes: dict[tuple[str, ...], list[dict[str, Any]]] = {}
                for key, fields in steps.items():
                    if key in existing:
                        changed = tuple(n for n in fields if n not in ("run_id", "step_id"))
                        values = {f"v_{n}": fields[n] for n in changed}
                        shapes.setdefault(changed, []).append(
                            {"k_run": key[0], "k_step": key[1], **values}
                        )
                for changed, rows in shapes.items():
                    conn.execute(
                        sa.update(_STEPS)
                        .where(
                            _STEPS.c.run_id == sa.bindparam("k_run"),
                            _STEPS.c.step_id == sa.bindparam("k_step"),
                        )
                        .values({n: sa.bindparam(f"v_{n}") for n in changed}),
                        rows,
                    )
            for run_id, plan in plans.items():
                conn.execute(sa.update(_RUNS).where(_RUNS.c.id == run_id).values(plan=plan))

    def finish_run(
        self,
        run_id: str,
        *,
        status: str,
        answer: str | None,
        error: str | None,
        cost: dict[str, Any] | None,
    ) -> None:
        # The run's queued events and steps land first: a run that reads as finished is whole,
        # to this process and to any other reading the same database.
        self.flush()
        with Session(self.engine) as s, s.begin():
            run = s.get(RunRow, run_id)
            if run is None:
                return
            run.status, run.answer, run.error, run.cost = status, answer, error, cost
            run.finished_at = time.time()

    @contextlib.contextmanager
    def _writing(self) -> Any:
        """Turn a lock held too long by another process into an error that says so."""
        try:
            yield
        except sa.exc.OperationalError as exc:
            if "locked" in str(exc).lower() or "busy" in str(exc).lower():
                raise StoreUnavailable(
                    f"the run store {self.safe_url} stayed locked by another process for "
                    f"{busy_timeout_s():g} s (retried throughout)",
                    hint="close the program holding it, or use a server database "
                    "(store_url = postgresql+psycopg://...) for many writers",
                ) from exc
            raise

    # -- reads ----------------------------------------------------------------------------

    def list_runs(self, limit: int = 20) -> list[RunSummary]:
        with Session(self.engine) as s:
            rows = s.scalars(sa.select(RunRow).order_by(RunRow.created_at.desc()).limit(limit))
            return [RunSummary.model_validate(_summary(r)) for r in rows]

    def get_run(self, run_id: str, *, prefix: bool = False) -> RunRecord:
        """The run with exactly this id; ``prefix=True`` (the CLI's ``runs show``) also takes
        a unique prefix, matched literally (``%`` and ``_`` are not wildcards)."""
        self.flush()
        with Session(self.engine) as s:
            run = s.get(RunRow, run_id)
            if run is None:
                matches = (
                    s.scalars(
                        sa.select(RunRow)
                        .where(RunRow.id.startswith(run_id, autoescape=True))
                        .limit(2)
                    ).all()
                    if prefix and run_id
                    else []
                )
                if len(matches) != 1:
                    raise RunNotFound(
                        f"no run {run_id!r} in {self.safe_url}",
                        hint="list runs with: podium runs list",
                    )
                run = matches[0]
            steps = s.scalars(
                sa.select(StepRow).where(StepRow.run_id == run.id).order_by(StepRow.step_id)
            )
            events = [
                r.data
                for r in s.scalars(
                    sa.select(EventRow).where(EventRow.run_id == run.id).order_by(EventRow.seq)
                )
            ]
            return _record(run, list(steps), events)

    def next_seq(self, run_id: str) -> int:
        self.flush()
        with Session(self.engine) as s:
            value = s.scalar(sa.select(sa.func.max(EventRow.seq)).where(EventRow.run_id == run_id))
            return int(value or 0) + 1

    @property
    def safe_url(self) -> str:
        return sa.engine.make_url(self.url).render_as_string(hide_password=True)

    def close(self) -> None:
        self.flush()
        self.engine.dispose()


def _summary(run: RunRow) -> dict[str, Any]:
    return {
        "run_id": run.id,
        "task": run.task,
        "status": run.status,
        "answer": run.answer,
        "error": run.error,
        "plan": run.plan or None,
        "cost": run.cost or {},
        "planner": run.planner,
        "workspace": run.workspace,
        "conversation_id": run.conversation_id,
        "created_at": run.created_at,
        "finished_at": run.finished_at,
    }


def _record(run: RunRow, steps: list[StepRow], events: list[dict[str, Any]]) -> RunRecord:
    """The run as a :class:`RunRecord`: its row, its step rows, and what its events tell
    (guardian verdicts, the steps a paused run waits on, its trace)."""
    last = events[-1] if events else {}
    paused = run.status == "awaiting_approval" and last.get("type") == "run_paused"
    traces = [e["trace_id"] for e in events if e.get("trace_id")]
    return RunRecord.model_validate(
        {
            **_summary(run),
            "steps": [
                {
                    "step_id": r.step_id,
                    "expert": r.expert,
                    "input": r.input,
                    "status": r.status,
                    "output": r.output,
                    "confidence": r.confidence,
                    "error": r.error,
                    "cost": {
                        "model": r.model,
                        "input_tokens": r.input_tokens,
                        "output_tokens": r.output_tokens,
                        "ms": r.ms,
                    },
                }
                for r in steps
            ],
            "verdicts": [VerdictRecord.of(e) for e in events if e.get("type") == "verdict"],
            "pending_approvals": last.get("pending", []) if paused else [],
            "trace_id": traces[-1] if traces else None,
            "events": events,
        }
    )
