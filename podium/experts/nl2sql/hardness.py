"""Spider's hardness levels (easy, medium, hard, extra) of a gold query.

Spider reports execution accuracy per level, and so do the papers whose figures we put beside
ours. The rules are those of Spider's ``evaluation.py`` (``eval_hardness``: components such as
WHERE, GROUP BY, ORDER BY, LIMIT, joins, OR and LIKE; nested queries and set operations;
"others" such as several aggregates, select columns, conditions or grouping columns),
applied to sqlglot's parse of the query instead of Spider's own parser — so a level can
differ from the official one on unusual queries.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Literal

import sqlglot
from sqlglot import exp

Hardness = Literal["easy", "medium", "hard", "extra"]
LEVELS: tuple[Hardness, ...] = ("easy", "medium", "hard", "extra")


def hardness(sql: str) -> Hardness:
    """The Spider hardness level of ``sql`` (``extra`` when it does not parse)."""
    try:
        tree = sqlglot.parse_one(sql, read="sqlite")
    except sqlglot.errors.SqlglotError:
        return "extra"
    nested = 0
    select = tree
    if isinstance(select, exp.SetOperation):  # Spider: the left query, the rest is nested
        nested += 1
        while isinstance(select, exp.SetOperation):
            select = select.left
    if not isinstance(select, exp.Select):
        return "extra"
    where, having = select.args.get("where"), select.args.get("having")
    joins = select.args.get("joins") or []
    conditions = [c.this for c in (where, having) if c is not None]
    conditions += [j.args["on"] for j in joins if j.args.get("on") is not None]

    comp1 = sum(bool(select.args.get(k)) for k in ("where", "group", "order", "limit"))
    comp1 += len(joins)
    comp1 += sum(1 for c in conditions for n in _outside_subqueries(c) if isinstance(n, exp.Or))
    comp1 += sum(1 for c in conditions for n in _outside_subqueries(c) if isinstance(n, exp.Like))
    nested += sum(1 for c in conditions if c is not None for _ in _subqueries(c))

    items = select.expressions
    order = select.args.get("order")
    aggs = sum(_has_agg(e) for e in items)
    aggs += sum(_has_agg(p) for p in _predicates(where.this)) if where is not None else 0
    aggs += sum(_has_agg(o) for o in order.expressions) if order is not None else 0
    aggs += sum(_has_agg(p) for p in _predicates(having.this)) if having is not None else 0
    group = select.args.get("group")
    others = int(aggs > 1) + int(len(items) > 1)
    others += int(where is not None and len(_predicates(where.this)) > 1)
    others += int(group is not None and len(group.expressions) > 1)

    if comp1 <= 1 and others == 0 and nested == 0:
        return "easy"
    if (others <= 2 and comp1 <= 1 and nested == 0) or (comp1 <= 2 and others < 2 and nested == 0):
        return "medium"
    if (
        (others > 2 and comp1 <= 2 and nested == 0)
        or (2 < comp1 <= 3 and others <= 2 and nested == 0)
        or (comp1 <= 1 and others == 0 and nested <= 1)
    ):
        return "hard"
    return "extra"


def _outside_subqueries(node: exp.Expression) -> Iterator[exp.Expression]:
    """The nodes of ``node``, not descending into nested queries."""
    yield node
    for child in node.iter_expressions():
        if isinstance(child, exp.Query | exp.Subquery):
            continue
        yield from _outside_subqueries(child)


def _subqueries(node: exp.Expression) -> Iterator[exp.Expression]:
    """The nested queries directly inside a condition."""
    for child in node.iter_expressions():
        if isinstance(child, exp.Query | exp.Subquery):
            yield child
        else:
            yield from _subqueries(child)


def _predicates(node: exp.Expression) -> list[exp.Expression]:
    """A condition split at its top-level AND / OR."""
    if isinstance(node, exp.And | exp.Or):
        sides = (node.left, node.right)
        return [p for side in sides if isinstance(side, exp.Expression) for p in _predicates(side)]
    if isinstance(node, exp.Paren) and isinstance(node.this, exp.Expression):
        return _predicates(node.this)
    return [node]


def _has_agg(node: exp.Expression) -> bool:
    return any(isinstance(n, exp.AggFunc) for n in _outside_subqueries(node))
