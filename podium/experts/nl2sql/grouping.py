"""Grouping by a name that several rows share.

"Which 5 customers spent the most?" is answered by summing each customer's orders, and the
ladder's models group that sum by the name they show (``GROUP BY c.name``). That is right
while names are unique and silently wrong when they are not: the demo shop's 300 customers
share 242 names, so namesakes' orders were added together and the top five came out wrong. An
entity is grouped by its key, not by its name.

The fix is exact, so it is made rather than asked of the model: when a query

* groups by name columns of a table with a one-column primary key that it does not group by,
* aggregates rows of another table whose foreign key points at that table (so the groups are
  that table's entities, each with its rows), and
* those names are not unique in the database,

the key is added to the GROUP BY. What the query shows is unchanged; namesakes come out as
rows of their own. A query that groups a table's own rows by name ("which first names are
most common?") reads no child table and is left alone, as is a name no two rows share: on the
shared Spider slice no gold query is changed (a test), and only two name columns of its 33
tables hold a repeated value at all.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable
from dataclasses import dataclass

from sqlglot import exp

from podium.tools.sql.tables import TableInfo

from .shape import parse_select, qualified_sources

# Whether some value of these columns of this table is held by more than one row.
SharedNames = Callable[[str, list[str]], bool]


@dataclass(frozen=True)
class KeyedGroups:
    """A query whose groups of names were keyed, and why (said in the answer's details)."""

    sql: str
    note: str


def key_named_groups(
    sql: str,
    tables: Iterable[TableInfo],
    shared: SharedNames,
    dialect: str | None = None,
) -> KeyedGroups | None:
    """``sql`` with the primary key of each entity it groups by a shared name added to its
    GROUP BY, or None when there is nothing to key (see the module docstring)."""
    tree = parse_select(sql, dialect)
    if tree is None:
        return None
    group = tree.args.get("group")
    if group is None or not _aggregates(tree):
        return None
    read = qualified_sources(tree, tables, dialect)
    if read is None:
        return None
    qualified, sources = read
    grouped: dict[str, list[str]] = {}
    q_group = qualified.args.get("group")
    for column in q_group.find_all(exp.Column) if q_group is not None else ():
        if column.table.lower() in sources:
            grouped.setdefault(column.table.lower(), []).append(column.name)
    keyed: list[tuple[str, str, TableInfo, list[str]]] = []
    for alias, columns in grouped.items():
        table = sources[alias]
        keys = [c.name for c in table.columns if c.primary_key]
        names = [c for c in columns if "name" in c.lower()]
        if len(keys) != 1 or not names or keys[0].lower() in {c.lower() for c in columns}:
            continue
        if not _child_read(table, sources.values()):
            continue
        if shared(table.name, columns):
            keyed.append((alias, keys[0], table, columns))
    if not keyed:
        return None
    for alias, key, _, _ in keyed:
        # quoted when its case matters (PostgreSQL folds unquoted names to lower case)
        group.append("expressions", exp.column(key, table=alias, quoted=key != key.lower()))
    said = "; ".join(
        f"{table.name} rows share values of {', '.join(columns)}, so the query groups by "
        f"{table.name}.{key} as well and namesakes are not merged"
        for _, key, table, columns in keyed
    )
    return KeyedGroups(tree.sql(dialect=dialect or None), said)


# "misuse of aggregate: SUM()" (SQLite), 'column "c.name" must appear in the GROUP BY clause
# or be used in an aggregate function' (PostgreSQL), "... isn't in GROUP BY" (MySQL)
_UNGROUPED = re.compile(r"misuse of aggregate|must appear in the GROUP BY|isn't in GROUP BY", re.I)


def group_by_entity(
    sql: str, error: str, tables: Iterable[TableInfo], dialect: str | None = None
) -> KeyedGroups | None:
    """``sql`` grouped by the key of the one table it lists, when the database refused it for
    an aggregate without GROUP BY and the aggregate reads that table's child rows; else None.

    "Which 5 customers spent the most?" was answered by the 1.5B, after a repair, with
    ``SELECT c.name FROM customers c JOIN orders o ON c.id = o.customer_id ORDER BY
    SUM(o.total) DESC LIMIT 5``, which SQLite refuses ("misuse of aggregate"). What it means is
    one sum per customer: every column it lists is a customer's and the sum is over rows that
    point at a customer, so the groups can only be customers, and grouping by their key is
    the one reading that runs. Anything less certain (columns of two tables, no child rows
    summed, a composite key) is left to the model's repair round."""
    tree = parse_select(sql, dialect) if _UNGROUPED.search(error) else None
    if tree is None or tree.args.get("group") is not None or not _aggregates(tree):
        return None
    read = qualified_sources(tree, tables, dialect)
    if read is None:
        return None
    qualified, sources = read
    listed = {
        column.table.lower()
        for e in qualified.expressions
        if e.find(exp.AggFunc) is None
        for column in e.find_all(exp.Column)
    }
    if len(listed) != 1 or next(iter(listed)) not in sources:
        return None
    alias = next(iter(listed))
    table = sources[alias]
    keys = [c.name for c in table.columns if c.primary_key]
    if len(keys) != 1 or not _child_read(table, sources.values()):
        return None
    original_alias = next(
        (t.alias_or_name for t in tree.find_all(exp.Table) if t.alias_or_name.lower() == alias),
        None,
    )
    if original_alias is None:
        return None
    key = keys[0]
    tree.set(
        "group",
        # the key quoted when its case matters (PostgreSQL folds unquoted names), the alias
        # as the query wrote it
        exp.Group(
            expressions=[
                exp.Column(
                    this=exp.to_identifier(key, quoted=key != key.lower()),
                    table=exp.to_identifier(original_alias),
                )
            ]
        ),
    )
    return KeyedGroups(
        tree.sql(dialect=dialect or None),
        f"the aggregate had no GROUP BY and reads rows that belong to {table.name}, so the "
        f"query groups by {table.name}.{key}",
    )


def shared_names_query(table: TableInfo, columns: list[str], dialect: str | None) -> str:
    """A query returning a row when some value of ``columns`` is held by two rows of
    ``table``."""
    cols = [exp.column(c) for c in columns]
    query = (
        exp.select("1")
        .from_(exp.to_table(table.name))
        .group_by(*cols)
        .having(exp.GT(this=exp.Count(this=exp.Star()), expression=exp.Literal.number(1)))
        .limit(1)
    )
    return query.sql(dialect=dialect or None, identify=True)


def _aggregates(tree: exp.Select) -> bool:
    """Whether the query sums, counts or averages over its groups' rows."""
    parts = [*tree.expressions, tree.args.get("order"), tree.args.get("having")]
    return any(p is not None and p.find(exp.AggFunc) is not None for p in parts)


def _child_read(parent: TableInfo, read: Iterable[TableInfo]) -> bool:
    """Whether the query reads a table with a foreign key pointing at ``parent``."""
    for table in read:
        if table is parent:
            continue
        for c in table.columns:
            if (c.foreign_key or "").split("(")[0].strip().lower() == parent.name.lower():
                return True
    return False
