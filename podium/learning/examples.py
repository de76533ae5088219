"""Verified examples: step results that something other than the model that wrote them
vouched for, stored in the run store with their provenance.

Vouchers, strongest last (an example keeps every voucher it got, in ``provenance``):

* ``quorum`` — NL2SQL: enough independent small-model drafts returned the same rows;
* ``agreement`` — NL2SQL: the large model's query returned the same rows as a small draft;
* ``large_confirmation`` — the large model, asked on its own, confirmed a small expert's
  verdict (a ``cascade`` or ``verify`` policy, the fact-check expert's cross-check, the schema
  matcher's rerank: :mod:`.vouchers`);
* ``approval`` — a person approved the step's result before it was used;
* ``feedback`` / ``thumbs_up`` — a person said the step was good (``podium feedback`` or the
  chat page).

A step's confidence alone never makes an example. A thumbs-down (``bad``) removes the step's
example, and a step that was judged bad is never harvested again.

The entry guard's verdict on a run's task is judged like a step, as step ``guard``
(``podium feedback RUN_ID guard good|bad``): a flag or block judged good is a confirmed
attack, judged bad a confirmed false alarm; an allowed task judged bad a missed attack. Each
is an example of expert ``guard`` whose output is the label the guard's prompt head learns.
"""

from __future__ import annotations

import time
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any, Literal

import sqlalchemy as sa
from sqlalchemy.orm import Session

from podium.errors import PodiumError
from podium.memory.store import RunStore
from podium.memory.tables import ExampleRow, FeedbackRow, StepRow
from podium.records import RunRecord, StepRecord

from .vouchers import Voucher, approval_vouchers, large_vouchers, nl2sql_vouchers

Verdict = Literal["good", "bad"]
Via = Literal["cli", "api", "python"]
HUMAN_VOUCHERS = ("approval", "feedback", "thumbs_up")
GUARD = "guard"  # the step id (and expert) under which the entry guard's verdict is judged


class StepNotFound(PodiumError):
    """The run exists but has no step with that id."""

    http_status = 404


@dataclass(frozen=True)
class Example:
    """One verified example, as the learners read it."""

    id: int
    expert: str
    input: str
    output: Any
    source: str
    voucher: str
    run_id: str
    step_id: str
    confidence: float = 0.0
    provenance: list[dict[str, Any]] = field(default_factory=list)

    @property
    def sql(self) -> str | None:
        out = self.output
        return out.get("sql") if isinstance(out, dict) else None


class ExampleStore:
    """Verified examples and feedback in a run store's database."""

    def __init__(self, store: RunStore) -> None:
        self.store = store
        self.engine = store.engine

    # -- harvesting ------------------------------------------------------------------------

    def harvest(self, run_id: str) -> list[Example]:
        """Record the examples a finished run's own decisions and approvals vouch for."""
        run = self.store.get_run(run_id)
        judged_bad = self._bad_steps(run.run_id)
        if "*" in judged_bad:
            return []
        events = run["events"]
        by_step: dict[str, list[dict[str, Any]]] = {}
        for e in events:  # one pass, not one per step (a 64-step run has ~130 events)
            if e.get("step_id") is not None:
                by_step.setdefault(e["step_id"], []).append(e)
        approvals = any(e.get("type") == "approval" for e in events)
        added: list[Example] = []
        for step in run["steps"]:
            if step["status"] != "ok" or step["step_id"] in judged_bad or not usable(step):
                continue
            own = by_step.get(step["step_id"], [])
            vouchers = large_vouchers(step, own)
            if approvals:
                vouchers += approval_vouchers(events, step["step_id"])
            if step["expert"] == "nl2sql":
                vouchers = nl2sql_vouchers(own) + vouchers
            if vouchers:
                added.append(self._upsert(run, step, vouchers))
        return added

    # -- feedback --------------------------------------------------------------------------

    def feedback(
        self, run_id: str, step_id: str | None, verdict: Verdict, *, via: Via = "cli"
    ) -> list[Example]:
        """A person's verdict on one step (or, without a step, on every step of the run).

        ``good`` makes each judged step's result an example (or adds the voucher to it);
        ``bad`` removes the examples. Returns the examples touched."""
        if verdict not in ("good", "bad"):
            raise ValueError(f"verdict must be good or bad, not {verdict!r}")
        run = self.store.get_run(run_id)
        if step_id == GUARD:
            return self._guard_feedback(run, verdict, via)
        steps = run["steps"]
        if step_id:
            steps = [s for s in steps if s["step_id"] == step_id]
            if not steps:
                known = ", ".join(s["step_id"] for s in run["steps"]) or "none"
                raise StepNotFound(
                    f"run {run.run_id} has no step {step_id!r}",
                    hint=f"its steps: {known}" + (f", {GUARD}" if _guard_verdict(run) else ""),
                )
        with Session(self.engine) as s, s.begin():
            s.add(FeedbackRow(run_id=run.run_id, step_id=step_id or "", verdict=verdict, via=via))
        touched: list[Example] = []
        kind = "thumbs_up" if via == "api" else "feedback"
        for step in steps:
            if verdict == "bad":
                touched += self._remove(run.run_id, step["step_id"], f"thumbs-down via {via}")
            elif step["status"] == "ok" and usable(step):
                touched.append(self._upsert(run, step, [Voucher(kind, "judged good", "person")]))
        return touched

    def _guard_feedback(self, run: RunRecord, verdict: Verdict, via: Via) -> list[Example]:
        """A person's verdict on the entry guard's verdict on the task (see the module doc)."""
        seen = _guard_verdict(run)
        if seen is None:
            raise StepNotFound(
                f"run {run.run_id} has no guard verdict on its task",
                hint="the guardians were off for it: [guardians] enabled = true in podium.toml",
            )
        with Session(self.engine) as s, s.begin():
            s.add(FeedbackRow(run_id=run.run_id, step_id=GUARD, verdict=verdict, via=via))
        alarm = seen.action in ("flag", "block")
        if not alarm and verdict == "good":
            return []  # an allowed task, allowed rightly: nothing for the guard to learn
        label = "attack" if alarm == (verdict == "good") else "benign"
        what = {
            (True, "attack"): "confirmed attack",
            (True, "benign"): "confirmed false alarm",
            (False, "attack"): "missed attack",
        }[(alarm, label)]
        kind = "thumbs_up" if via == "api" else "feedback"
        return [
            self._upsert(
                run,
                StepRecord(
                    step_id=GUARD,
                    expert=GUARD,
                    input=run.task,
                    status="ok",
                    output={"label": label, "action": seen.action, "category": seen.category},
                    confidence=seen.score,
                ),
                [Voucher(kind, f"{what} ({seen.action} at score {seen.score:.2f})", "person")],
                source="prompt",
            )
        ]

    # -- reading ---------------------------------------------------------------------------

    def examples(
        self, expert: str | None = None, *, status: str = "active", ids: Iterable[int] | None = None
    ) -> list[Example]:
        query = sa.select(ExampleRow).where(ExampleRow.status == status).order_by(ExampleRow.id)
        if expert:
            query = query.where(ExampleRow.expert == expert)
        if ids is not None:
            query = query.where(ExampleRow.id.in_(list(ids)))
        with Session(self.engine) as s:
            return [_example(r) for r in s.scalars(query)]

    def outcomes(self, expert: str) -> list[tuple[int, float, bool]]:
        """(feedback id, confidence, judged good) for every step of ``expert`` a person
        judged: what a calibrator is refit from. The newest verdict on a step counts."""
        query = (
            sa.select(FeedbackRow, StepRow)
            .join(StepRow, StepRow.run_id == FeedbackRow.run_id)
            .where(StepRow.expert == expert, StepRow.status == "ok")
            .where(sa.or_(FeedbackRow.step_id == "", FeedbackRow.step_id == StepRow.step_id))
            .order_by(FeedbackRow.created_at, FeedbackRow.id)
        )
        latest: dict[tuple[str, str], tuple[int, float, bool]] = {}
        with Session(self.engine) as s:
            for fb, step in s.execute(query).all():
                key = (step.run_id, step.step_id)
                latest[key] = (fb.id, step.confidence, fb.verdict == "good")
        return list(latest.values())

    # -- internals -------------------------------------------------------------------------

    def _bad_steps(self, run_id: str) -> set[str]:
        with Session(self.engine) as s:
            rows = s.scalars(sa.select(FeedbackRow).where(FeedbackRow.run_id == run_id)).all()
        latest: dict[str, str] = {}
        for r in sorted(rows, key=lambda r: (r.created_at, r.id)):
            latest[r.step_id] = r.verdict
        if latest.get("") == "bad":
            return {"*"} | {k for k in latest if k}  # the whole run was judged bad
        return {k for k, v in latest.items() if v == "bad"}

    def _upsert(
        self,
        run: RunRecord,
        step: StepRecord,
        vouchers: list[Voucher],
        source: str | None = None,
    ) -> Example:
        now = time.time()
        marks = [v.mark(now) for v in vouchers]
        with Session(self.engine) as s, s.begin():
            row = s.scalar(
                sa.select(ExampleRow).where(
                    ExampleRow.run_id == run.run_id, ExampleRow.step_id == step["step_id"]
                )
            )
            if row is None:
                row = ExampleRow(
                    expert=step["expert"],
                    run_id=run.run_id,
                    step_id=step["step_id"],
                    source=_source(run, step["step_id"]) if source is None else source,
                    input=step["input"],
                    output=step["output"],
                    confidence=step["confidence"],
                    voucher=vouchers[-1].kind,
                    provenance=marks,
                    status="active",
                    created_at=now,
                    updated_at=now,
                )
                s.add(row)
            else:
                row.provenance = [*row.provenance, *marks]
                row.voucher = vouchers[-1].kind
                if step["expert"] == GUARD:  # a person may change their mind on the label
                    row.output = step["output"]
                row.status, row.updated_at = "active", now
            s.flush()
            return _example(row)

    def _remove(self, run_id: str, step_id: str, why: str) -> list[Example]:
        with Session(self.engine) as s, s.begin():
            row = s.scalar(
                sa.select(ExampleRow).where(
                    ExampleRow.run_id == run_id, ExampleRow.step_id == step_id
                )
            )
            if row is None:
                return []
            row.status, row.updated_at = "removed", time.time()
            row.provenance = [
                *row.provenance,
                {"kind": "removed", "detail": why, "at": time.time()},
            ]
            s.flush()
            return [_example(row)]


def usable(step: StepRecord) -> bool:
    """A result worth learning from: not an error, not a refusal, an NL2SQL step with SQL."""
    out = step.get("output")
    if isinstance(out, dict) and out.get("refused"):
        return False
    if step["expert"] == "nl2sql":
        return isinstance(out, dict) and bool(out.get("sql"))
    return out is not None


def _guard_verdict(run: RunRecord) -> Any:
    """The injection guardian's verdict on the task itself (its first entry verdict)."""
    return next((v for v in run.verdicts if v.stage == "in" and v.guardian == "injection"), None)


def _source(run: RunRecord, step_id: str) -> str:
    """The database (or other source) the step named in its plan arguments, if any."""
    for s in (run.get("plan") or {}).get("steps", []):
        if s.get("id") == step_id:
            args = s.get("args") or {}
            return str(args.get("database") or args.get("source") or "")
    return ""


def _example(row: ExampleRow) -> Example:
    return Example(
        id=row.id,
        expert=row.expert,
        input=row.input,
        output=row.output,
        source=row.source,
        voucher=row.voucher,
        run_id=row.run_id,
        step_id=row.step_id,
        confidence=row.confidence,
        provenance=list(row.provenance or []),
    )
