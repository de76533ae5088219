"""A top answer that hides a tie.

"Which country has the most gold customers?" is answered by ``... ORDER BY COUNT(*) DESC LIMIT
1``: the United Kingdom. Norway has as many (5 each), and nothing in the one row says so; the
user reads a winner where there is none. The query's own rows stay as they are (what a query
returns is what it says, and Spider's gold queries read such questions with ``LIMIT 1`` too),
but the result's summary, which the answer is written from, names the rows tied with the first.

Checked exactly, with no model: the query is run once more with its ORDER BY keys selected and
a few more rows; the rows whose keys equal the first row's are tied with it. Only a one-row
``LIMIT 1`` of a plain SELECT is checked (no OFFSET, no DISTINCT, no positional ORDER BY).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

from sqlglot import exp

from .shape import parse_select

# How many tied rows are named at most (the rest are counted).
NAMED = 5
_KEY = "podium_tie_key_{}"

# Runs a query and returns its rows (None when it does not run).
Rows = Callable[[str], Sequence[Sequence[Any]] | None]


@dataclass(frozen=True)
class Tie:
    """The rows tied with a ``LIMIT 1`` query's row, and the value they share."""

    first: tuple[Any, ...]  # the row the query returned
    rows: list[tuple[Any, ...]]  # the rows tied with it
    values: tuple[Any, ...]  # the ORDER BY keys' values they share
    more: bool  # more tied rows than listed

    def describe(self) -> str:
        """ "a tie for first: United Kingdom and Norway". The value they share is left out: a
        finding with a number is carried only by an answer that repeats it, and the answer
        "The United Kingdom and Norway tie for the most gold customers." is complete without
        the count its query never showed."""
        named = [", ".join(_text(v) for v in row) for row in (self.first, *self.rows)]
        listed = ", ".join(named[:-1]) + (", " if self.more else " and ") + named[-1]
        return f"a tie for first: {listed}{' and more' if self.more else ''}"


def tie_for_first(sql: str, rows_of: Rows, dialect: str | None = None) -> Tie | None:
    """The rows that tie with the one row ``sql`` returns for its ``LIMIT 1``; None when there
    is no tie, or the query is not one this checks (see the module docstring)."""
    tree = parse_select(sql, dialect)
    if tree is None or tree.args.get("offset") is not None or tree.args.get("distinct"):
        return None
    order, limit = tree.args.get("order"), tree.args.get("limit")
    if order is None or limit is None or not _is_one(limit.expression):
        return None
    aliased = {e.alias.lower(): e.this for e in tree.expressions if isinstance(e, exp.Alias)}
    keys = [_unaliased(o.this, aliased) for o in order.expressions]
    if not keys or any(isinstance(k, exp.Literal) for k in keys):
        return None
    shown = len(tree.expressions)
    if any(_star(e) for e in tree.expressions):
        return None  # SELECT *: how many columns it shows is not known here
    probe = tree.copy()
    for i, key in enumerate(keys):
        probe = probe.select(exp.alias_(key.copy(), _KEY.format(i)), copy=False)
    probe = probe.limit(NAMED + 2, copy=False)
    found = rows_of(probe.sql(dialect=dialect or None))
    if not found or len(found) < 2:
        return None
    first = tuple(found[0][shown:])
    tied = [tuple(r[:shown]) for r in found[1:] if tuple(r[shown:]) == first]
    if not tied:
        return None
    return Tie(tuple(found[0][:shown]), tied[:NAMED], first, more=len(tied) > NAMED)


def _unaliased(key: exp.Expression, aliased: dict[str, exp.Expression]) -> exp.Expression:
    """``key``, or the expression it names when it is a select alias (``ORDER BY spent``)."""
    if isinstance(key, exp.Column) and not key.table and key.name.lower() in aliased:
        return aliased[key.name.lower()]
    return key


def _star(e: exp.Expression) -> bool:
    """``*`` or ``t.*`` (not ``COUNT(*)``)."""
    return isinstance(e, exp.Star) or (isinstance(e, exp.Column) and isinstance(e.this, exp.Star))


def _is_one(value: exp.Expression | None) -> bool:
    return isinstance(value, exp.Literal) and value.this.strip() == "1"


def _text(value: Any) -> str:
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    return str(value)
