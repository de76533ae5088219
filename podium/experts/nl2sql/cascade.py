"""The agreement cascade's decisions, as pure functions of the attempts so far.

Measured on this box (DESIGN.md, "Measured facts"): when two of three cheap drafts return the
same result set, the answer is usually right, so agreement among drafts is the confidence
that decides whether the large model is needed at all. The loop in :mod:`.expert` runs
models and queries; everything it *decides* is decided here, so the decisions can be tested
with scripted attempts and are recorded the same way in the step's output and the ledger:

* ``agreed`` — at least ``quorum`` drafts returned the same non-empty result set and no other
  draft returned other rows (after a further draft: their group outnumbers every other):
  accept it, no large-model call.
* ``more`` — no ``quorum`` drafts agree yet, further drafts are allowed (``more``) and they
  could still complete a quorum (with one more, beside a sound draft that returned rows): the
  small model drafts once more before the large model is asked.
* ``escalate`` — the drafts disagree, failed or found nothing, or two agree while another
  returned other rows (on Spider such disputed pairs were wrong 11 times in 36, undisputed
  ones 19 in 100, and the large model fixed 9 of the 11: BENCHMARKS.md): the large model
  writes the final query.
* ``repair`` — the large model's query failed (or found nothing): its error goes back to it,
  up to ``max_repairs`` rounds; or it ran but has the wrong shape for the question
  (:mod:`.shape`: one value where the question asks for one per group, rows ranked one by one
  where it asks for a total): the problem goes back to it, ``max_shape_repairs`` rounds. Drafts
  that agree on a result with a shape problem do not count as agreeing.
* ``finalised`` / ``repaired`` — the large model's query ran and returned rows.
* ``fallback`` — repairs ran out: the best executed attempt is kept (the large model's last
  query if it ran, else the largest group of drafts), with a low confidence.
* ``failed`` — nothing ran at all.
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass, field
from typing import Any, Literal

from podium.tools.sql import QueryResult

Status = Literal["ok", "error", "refused"]
Action = Literal[
    "agreed", "more", "escalate", "repair", "finalised", "repaired", "fallback", "failed"
]


@dataclass
class Attempt:
    """One query written by a model and what running it gave."""

    origin: str  # draft-0, draft-1, ..., final, repair-1, ...
    role: str  # small | large
    sql: str
    status: Status
    result: QueryResult | None = None
    error: str | None = None
    seconds: float = 0.0
    problem: str | None = None  # ran, but its shape does not fit the question (shape.py)
    written: str | None = None  # what the model wrote, when Podium ran a corrected ``sql``
    note: str | None = None  # why it was corrected (grouping.py)

    @property
    def rows(self) -> bool:
        """Ran and returned at least one non-NULL value."""
        return self.status == "ok" and self.result is not None and not is_empty(self.result)

    @property
    def sound(self) -> bool:
        """Returned rows, and nothing about their shape says they answer another question."""
        return self.rows and self.problem is None

    def public(self) -> dict[str, Any]:
        out: dict[str, Any] = {
            "origin": self.origin,
            "role": self.role,
            "sql": self.sql,
            "status": self.status,
            "seconds": round(self.seconds, 3),
        }
        if self.error:
            out["error"] = self.error
        if self.problem:
            out["problem"] = self.problem
        if self.written is not None:
            out["written"] = self.written
            out["note"] = self.note
        if self.result is not None:
            out["row_count"] = self.result.row_count
        return out


@dataclass
class Decision:
    """What to do next, why, and which attempt (if any) is the answer."""

    action: Action
    reason: str
    chosen: int | None = None  # index into the attempts
    agreement: int = 0  # size of the largest group of drafts with the same rows
    confidence: float = 0.0
    extra: dict[str, Any] = field(default_factory=dict)

    @property
    def final(self) -> bool:
        return self.action not in ("more", "escalate", "repair")

    def public(self) -> dict[str, Any]:
        return {
            "action": self.action,
            "reason": self.reason,
            "chosen": self.chosen,
            "agreement": self.agreement,
            "confidence": round(self.confidence, 3),
            **self.extra,
        }


def result_key(result: QueryResult) -> tuple[str, ...]:
    """Result sets compare as multisets of rows (row order and column names ignored)."""
    return tuple(sorted(map(repr, (_norm_row(r) for r in result.rows))))


def _norm_row(row: tuple[Any, ...]) -> tuple[Any, ...]:
    return tuple(round(float(v), 4) if isinstance(v, float | int) else v for v in row)


def is_empty(result: QueryResult) -> bool:
    return not result.rows or all(v is None for row in result.rows for v in row)


def groups(attempts: list[Attempt], indexes: list[int], *, sound: bool = False) -> list[list[int]]:
    """Indexes of attempts that returned rows (``sound``: and have no shape problem), grouped
    by result set, largest group first (ties: the group holding the earliest attempt — draft 0
    is the greedy one)."""
    by_key: dict[tuple[str, ...], list[int]] = defaultdict(list)
    for i in indexes:
        a = attempts[i]
        if (a.sound if sound else a.rows) and a.result is not None:
            by_key[result_key(a.result)].append(i)
    return sorted(by_key.values(), key=lambda g: (-len(g), g[0]))


def dissenters(attempts: list[Attempt], group: list[int]) -> list[int]:
    """Drafts outside ``group`` that returned other rows: a draft that failed or found nothing
    does not dispute an agreement, one that found something else does."""
    first = attempts[group[0]].result
    key = result_key(first) if first is not None else None
    return [
        i
        for i, a in enumerate(attempts)
        if a.role == "small"
        and i not in group
        and a.rows
        and a.result is not None
        and result_key(a.result) != key
    ]


def after_drafts(
    attempts: list[Attempt],
    *,
    quorum: int = 2,
    escalate: bool = True,
    finalise_always: bool = False,
    more: int = 0,
    outvote: bool = False,
) -> Decision:
    """The cascade's decision on the drafts so far: accept agreeing drafts, draw another
    draft, or escalate to the large model.

    ``quorum`` sound drafts returning the same rows are accepted when no other draft returned
    other rows — or, with ``outvote`` (the expert sets it once a further draft was drawn),
    when their group outnumbers every other. A disputed agreement escalates. When no
    ``quorum`` drafts agree and ``more`` drafts may still be drawn, the answer is ``more``.
    With ``escalate=False`` (no large model: the ``vote`` strategy) the largest group wins.
    With ``finalise_always`` (``draft_finalise``) even agreeing drafts go to the large model."""
    drafts = [i for i, a in enumerate(attempts) if a.role == "small"]
    agreeing = groups(attempts, drafts, sound=True)
    if agreeing and len(agreeing[0]) >= quorum:
        top = len(agreeing[0])
        if finalise_always:
            return Decision(
                "escalate", "draft_finalise: the large model always finalises", agreement=top
            )
        against = dissenters(attempts, agreeing[0])
        outvoted = all(len(g) < top for g in groups(attempts, drafts) if g[0] not in agreeing[0])
        if not escalate or not against or (outvote and outvoted):
            return Decision(
                "agreed",
                f"{top} of {len(drafts)} drafts returned the same rows",
                chosen=agreeing[0][0],
                agreement=top,
                confidence=top / len(drafts),
            )
        others = ", ".join(attempts[i].origin for i in against)
        return Decision(
            "escalate",
            f"{top} of {len(drafts)} drafts returned the same rows, but {others} returned "
            "other rows",
            agreement=top,
        )
    ranked = groups(attempts, drafts)
    top = len(ranked[0]) if ranked else 0
    share = top / len(drafts) if drafts else 0.0
    failed = sum(a.status != "ok" for a in attempts if a.role == "small")
    why = (
        f"no {quorum} drafts agree ({top} at most; {failed} failed, "
        f"{len(drafts) - failed - sum(len(g) for g in ranked)} found no rows)"
    )
    if top >= quorum:
        why = f"{top} drafts agree, but {_first_sentence(attempts[ranked[0][0]].problem)}"
    # A further draft is drawn only when it could complete a quorum: with one more allowed,
    # only beside a sound draft that returned rows. On all 493 Spider questions, the 81 drafts
    # drawn when no draft was sound saved no large-model call and cost 4.5 s each; where the
    # large model's queries then fell back, the lone fourth draft was kept over them and 3
    # right answers turned wrong (BENCHMARKS.md).
    sound_top = len(agreeing[0]) if agreeing else 0
    if escalate and more > 0 and top < quorum and sound_top + more >= quorum:
        return Decision("more", why + ": the small model drafts again", agreement=top)
    if escalate:
        return Decision("escalate", why, agreement=top)
    if ranked:
        return Decision(
            "fallback", why + "; the largest group is kept", ranked[0][0], top, share / 2
        )
    ran = [i for i in drafts if attempts[i].status == "ok"]
    if ran:
        return Decision("fallback", why + "; an empty result is kept", ran[0], 0, 0.1)
    return Decision("failed", why + "; no draft ran")


def after_final(
    attempts: list[Attempt],
    *,
    max_repairs: int = 1,
    max_shape_repairs: int = 1,
    quorum: int = 2,
) -> Decision:
    """After the large model's latest query: accept it, repair it, or fall back.

    A failed or empty query gets up to ``max_repairs`` rounds; one that ran with a shape
    problem up to ``max_shape_repairs`` more. When those run out the large model's latest query
    that returned rows is kept even with its problem — what the cascade returned before it
    checked shapes — so the check can cost calls but never an answer."""
    large = [i for i, a in enumerate(attempts) if a.role == "large"]
    assert large, "after_final needs a large-model attempt"
    last = attempts[large[-1]]
    repairs = len(large) - 1
    earlier = [attempts[i] for i in large[:-1]]
    error_repairs = sum(not a.rows for a in earlier)
    shape_repairs = sum(a.rows and a.problem is not None for a in earlier)
    drafts = [i for i, a in enumerate(attempts) if a.role == "small"]
    backing = [
        i
        for i in drafts
        if attempts[i].rows
        and last.rows
        and result_key(attempts[i].result) == result_key(last.result)  # type: ignore[arg-type]
    ]
    extra = {"drafts_agreeing_with_final": len(backing)}
    action: Action = "repaired" if repairs else "finalised"
    if last.sound:
        confidence = min(1.0, 0.6 + 0.2 * len(backing))
        reason = "the large model's query returned rows"
        if backing:
            reason += f", the same as {len(backing)} draft(s)"
        return Decision(action, reason, large[-1], len(backing), confidence, extra)
    if last.rows:
        if shape_repairs < max_shape_repairs:
            return Decision(
                "repair", f"round {repairs + 1}: {_first_sentence(last.problem)}", extra=extra
            )
        reason = f"the large model's query returned rows, but {_first_sentence(last.problem)}"
        return Decision(action, reason, large[-1], len(backing), 0.4, extra)
    problem = last.error if last.status != "ok" else "the query returned no rows"
    if error_repairs < max_repairs:
        return Decision("repair", f"round {repairs + 1}: {problem}", extra=extra)
    # Out of repairs: the best thing that ran. A query of the large model's that returned rows
    # (it has a shape problem, or it would have been accepted) comes first, as it did before
    # shapes were checked; then the largest group of drafts.
    shaped = [i for i in large[::-1] if attempts[i].rows]
    if shaped:
        return Decision(
            "fallback",
            f"the large model's last query failed ({problem}); its earlier query that returned "
            f"rows is kept, though {_first_sentence(attempts[shaped[0]].problem)}",
            shaped[0],
            0,
            0.3,
            extra,
        )
    ranked = groups(attempts, drafts)
    if ranked:
        return Decision(
            "fallback",
            f"the large model's query still failed ({problem}); the largest group of drafts "
            "is kept",
            ranked[0][0],
            len(ranked[0]),
            0.3 * len(ranked[0]) / max(1, len(drafts)),
            extra,
        )
    ran = [i for i in large[::-1] + drafts if attempts[i].status == "ok"]
    if ran:
        return Decision("fallback", f"{problem}; an empty result is kept", ran[0], 0, 0.1, extra)
    return Decision("failed", f"no query ran; last error: {problem}", extra=extra)


def _first_sentence(problem: str | None) -> str:
    """A shape problem's first sentence, lower-cased for "but ...", for the decision's reason
    (the whole text is in the attempt)."""
    first = (problem or "its shape does not fit the question").split(": ")[0].split(". ")[0]
    return first[:1].lower() + first[1:].rstrip(".")


def refused_writes(attempts: list[Attempt]) -> bool:
    """Most queries written for the question were refused as writes: the models wrote
    changes for what the intent screen read as a question, so nothing is an answer."""
    refused = sum(a.status == "refused" for a in attempts)
    return refused * 2 > len(attempts)


def describe(attempt: Attempt, max_rows: int = 3) -> str:
    """One attempt as the large model reads it: the SQL and what it returned."""
    if attempt.status != "ok" or attempt.result is None:
        return f"{attempt.sql}\n  -> error: {attempt.error}"
    if is_empty(attempt.result):
        return f"{attempt.sql}\n  -> no rows"
    shown = "; ".join(", ".join(map(str, r)) for r in attempt.result.rows[:max_rows])
    more = f" ({attempt.result.row_count} rows)" if attempt.result.row_count > max_rows else ""
    note = f"\n  (but {_first_sentence(attempt.problem)})" if attempt.problem else ""
    return f"{attempt.sql}\n  -> {shown}{more}{note}"
