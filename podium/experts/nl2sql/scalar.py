"""A subquery compared with ``=`` that finds several rows.

"How many orders did Olga Martin place?" was drafted as ``... WHERE customer_id = (SELECT id
FROM customers WHERE name = 'Olga Martin')``. Two customers of the demo shop have that name.
SQLite compares with the first id the subquery finds and ignores the other (PostgreSQL refuses
the query), so the draft counted one Olga Martin's 12 orders, another draft written with ``IN``
counted both (15), the drafts disagreed, and the large model's repair then counted order
items (29). A question that names something several rows match means all of them.

The fix is exact, so it is made rather than asked of the model: an uncorrelated subquery on
one side of ``=`` that returns more than one row makes the comparison an ``IN``. A subquery
that returns one row (``price = (SELECT MAX(price) ...)``), or that reads the outer query's
columns and so cannot run alone, is left as written.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from sqlglot import exp

from .shape import parse_select

# How many rows a query returns (None when it cannot run on its own).
CountRows = Callable[[str], int | None]


@dataclass(frozen=True)
class WidenedComparison:
    """A query whose ``=`` against a several-row subquery became ``IN``, and why; ``matches``
    says it for the answer's writer ("2 rows of customers match name = 'Olga Martin'; the
    result covers all of them"), so the answer can say there are two."""

    sql: str
    note: str
    matches: str = ""


def widen_scalar_subqueries(
    sql: str, count_rows: CountRows, dialect: str | None = None
) -> WidenedComparison | None:
    """``sql`` with each ``x = (SELECT ...)`` whose subquery returns several rows written as
    ``x IN (SELECT ...)``; None when there is none (see the module docstring)."""
    tree = parse_select(sql, dialect)
    if tree is None:
        return None
    widened: list[tuple[str, int]] = []
    matched: list[str] = []
    for eq in list(tree.find_all(exp.EQ)):
        side, other = _subquery_side(eq)
        if side is None or other is None:
            continue
        inner = side.this
        if not isinstance(inner, exp.Select):
            continue
        text = inner.sql(dialect=dialect or None)
        rows = count_rows(f"SELECT COUNT(*) FROM ({text}) AS matched")
        if rows is None or rows < 2:
            continue
        eq.replace(exp.In(this=other.copy(), query=side.copy()))
        widened.append((text, rows))
        matched.append(_matches(inner, rows, dialect))
    if not widened:
        return None
    said = "; ".join(
        f"{text} finds {rows} rows, so the query compares with IN and reads all of them"
        for text, rows in widened
    )
    return WidenedComparison(tree.sql(dialect=dialect or None), said, "; ".join(matched))


def _matches(inner: exp.Select, rows: int, dialect: str | None) -> str:
    """ "2 rows of customers match name = 'Olga Martin'; the result covers all of them"."""
    table = inner.find(exp.Table)
    where = inner.args.get("where")
    what = f" of {table.name}" if table is not None and table.name else ""
    condition = f" match {where.this.sql(dialect=dialect or None)}" if where is not None else ""
    return f"{rows} rows{what}{condition}; the result covers all of them"


def _subquery_side(eq: exp.EQ) -> tuple[exp.Subquery | None, exp.Expression | None]:
    """The subquery side of ``eq`` and the other side (None, None if neither is one)."""
    if isinstance(eq.expression, exp.Subquery):
        return eq.expression, eq.this
    if isinstance(eq.this, exp.Subquery):
        return eq.this, eq.expression
    return None, None
