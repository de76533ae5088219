"""A column read from the wrong table, read through the join the query left out.

"Which product category brought in the most revenue in 2024?" was drafted as ``SELECT
T2.category FROM order_items AS T1 JOIN products AS T2 ON T1.product_id = T2.id WHERE
T1.order_date LIKE '2024%' ...``: everything right but the date, which is a column of
``orders``, not of ``order_items``. Told so, the large model wrote other queries that failed
too, and the question went unanswered. The missing step is mechanical: ``order_items`` has a
key to ``orders``, so the query joins ``orders`` on it and reads the date there.

The repair is made only when it cannot change what the query counts: exactly one table has
the column, exactly one key leads to it from the table the query read it from (or, for an
unqualified column, from exactly one of the query's tables), and that key points *to* the new
table, so each row joins at most one row and no row is repeated. "Which 5 customers spent the
most?" written as ``SELECT name FROM customers ORDER BY total`` is not repaired this way: a
customer has many orders, and which of their totals was meant is the model's question to
answer, not this module's. When the query already reads the one table that has the column,
under another alias (``T2.order_date`` where ``T1`` is ``orders``), the column is read under
that alias and nothing is joined.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from sqlglot import exp

from podium.tools.sql.tables import TableInfo

from .shape import parse_select

# "no such column: T2.name" (SQLite), 'column "total" does not exist' (PostgreSQL),
# "Unknown column 'total' in 'order clause'" (MySQL)
_MISSING_COLUMN = re.compile(
    r"no such column: (?:(\w+)\.)?(\w+)|column \"?(?:(\w+)\.)?(\w+)\"? does not exist"
    r"|Unknown column '(?:(\w+)\.)?(\w+)'",
    re.I,
)
_REFERENCE = re.compile(r"^\s*(\w+)\s*\(\s*(\w+)\s*\)\s*$")


@dataclass(frozen=True)
class MissingColumn:
    """The column an error says the query named but no table it read has."""

    qualifier: str | None
    column: str


@dataclass(frozen=True)
class JoinedColumn:
    """A query with the join it left out, and the sentence that says which and why."""

    sql: str
    note: str


def missing_column(error: str) -> MissingColumn | None:
    """The column a database error says does not exist, or None for any other error."""
    found = _MISSING_COLUMN.search(error)
    if found is None:
        return None
    groups = found.groups()
    pair = next(i for i in range(0, len(groups), 2) if groups[i + 1])
    return MissingColumn(groups[pair], groups[pair + 1])


def join_missing_column(
    sql: str, error: str, tables: list[TableInfo], dialect: str | None = None
) -> JoinedColumn | None:
    """``sql`` reading the column ``error`` says is missing through the one many-to-one key
    that leads to the only table having it; None when that is not certain (module docstring)."""
    missing = missing_column(error)
    tree = parse_select(sql, dialect) if missing is not None else None
    if missing is None or tree is None:
        return None
    wanted = missing.column.lower()
    uses = [
        c
        for c in tree.find_all(exp.Column)
        if c.name.lower() == wanted and (c.table or "").lower() == (missing.qualifier or "").lower()
    ]
    scopes = {id(c.find_ancestor(exp.Select)): c.find_ancestor(exp.Select) for c in uses}
    if not uses or len(scopes) != 1:
        return None
    select = next(iter(scopes.values()))
    assert select is not None
    by_name = {t.name.lower(): t for t in tables}
    read = _tables_read(select)
    if read is None:
        return None
    owners = [t for t in tables if any(c.name.lower() == wanted for c in t.columns)]
    if len(owners) != 1:
        return None
    owner = owners[0]
    already = [alias for alias, name in read.items() if name == owner.name.lower()]
    if already:
        return _requalified(tree, select, uses, missing, already, read, dialect)
    if missing.qualifier is not None:
        sources = {missing.qualifier.lower(): read.get(missing.qualifier.lower())}
    else:
        sources = dict(read)
    links = [
        (alias, column.name, target_column)
        for alias, name in sources.items()
        if name is not None and name in by_name
        for column in by_name[name].columns
        for target_column in [_points_to(column.foreign_key, owner.name)]
        if target_column is not None
    ]
    if len(links) != 1:
        return None
    alias, key, target_column = links[0]
    joined_as = _new_alias(owner.name, set(read))
    on = exp.EQ(
        this=exp.column(key, table=_alias_as_written(select, alias)),
        expression=exp.column(target_column, table=joined_as),
    )
    table = exp.Table(this=exp.to_identifier(owner.name))
    if joined_as != owner.name:
        table.set("alias", exp.TableAlias(this=exp.to_identifier(joined_as)))
    select.append("joins", exp.Join(this=table, on=on))
    for use in uses:
        use.replace(exp.column(use.name, table=joined_as))
    source = read[alias]
    note = (
        f"{source} has no column {missing.column}; the query joins {owner.name} on "
        f"{source}.{key} = {owner.name}.{target_column} and reads it there"
    )
    return JoinedColumn(tree.sql(dialect=dialect or None), note)


def _requalified(
    tree: exp.Expression,
    select: exp.Select,
    uses: list[exp.Column],
    missing: MissingColumn,
    already: list[str],
    read: dict[str, str],
    dialect: str | None,
) -> JoinedColumn | None:
    """The column read under the alias of the one table the query already joins that has
    it (``T2.order_date`` where ``T1`` is ``orders``); None when unqualified or ambiguous."""
    if missing.qualifier is None or len(already) != 1:
        return None
    alias = _alias_as_written(select, already[0])
    for use in uses:
        use.replace(exp.column(use.name, table=alias))
    note = (
        f"{read.get(missing.qualifier.lower(), missing.qualifier)} has no column "
        f"{missing.column}; the query reads it from {alias} ({read[already[0]]})"
    )
    return JoinedColumn(tree.sql(dialect=dialect or None), note)


def _tables_read(select: exp.Select) -> dict[str, str] | None:
    """Alias (lower case) -> table name (lower case) of the tables a SELECT reads directly;
    None when it also reads a subquery, whose columns this module does not know."""
    sources: list[exp.Expression] = []
    from_ = select.args.get("from_")
    if from_ is not None:
        sources.append(from_.this)
    sources.extend(join.this for join in select.args.get("joins") or [])
    read: dict[str, str] = {}
    for source in sources:
        if not isinstance(source, exp.Table) or not source.name:
            return None
        read[source.alias_or_name.lower()] = source.name.lower()
    return read


def _points_to(foreign_key: str | None, table: str) -> str | None:
    """The referenced column when ``foreign_key`` ("orders(id)") points to ``table``."""
    found = _REFERENCE.match(foreign_key or "")
    if found is None or found.group(1).lower() != table.lower():
        return None
    return found.group(2)


def _alias_as_written(select: exp.Select, alias: str) -> str:
    """``alias`` spelled as the query spells it (lookups above are case-insensitive)."""
    for table in select.find_all(exp.Table):
        if table.alias_or_name.lower() == alias:
            return table.alias_or_name
    return alias


def _new_alias(table: str, taken: set[str]) -> str:
    """The table's own name when the query does not use it, else the next ``T<n>`` (the
    style of Spider's and the models' queries) that is free."""
    if table.lower() not in taken:
        return table
    n = 1
    while f"t{n}" in taken:
        n += 1
    return f"T{n}"


def name_derived_column(sql: str, error: str, dialect: str | None = None) -> JoinedColumn | None:
    """``sql`` with its derived table's one unnamed aggregate named after the column the outer
    query reads and the error says is missing; None when that is not the case.

    Told to average per order, the 1.5B wrote ``SELECT AVG(quantity) FROM (SELECT order_id,
    SUM(quantity) FROM order_items GROUP BY order_id)``: right but for the name, since the
    subquery's column is called ``SUM(quantity)``. Naming it is what the query means; it fails
    otherwise, so nothing that ran is changed."""
    missing = missing_column(error)
    tree = parse_select(sql, dialect) if missing is not None else None
    if missing is None or tree is None:
        return None
    source = tree.args.get("from_")
    derived = source.this if source is not None else None
    if not isinstance(derived, exp.Subquery) or not isinstance(derived.this, exp.Select):
        return None
    if missing.qualifier and missing.qualifier.lower() != (derived.alias or "").lower():
        return None
    wanted = missing.column.lower()
    unnamed = [
        p
        for p in derived.this.expressions
        if not isinstance(p, exp.Alias | exp.Column)
        and p.find(exp.AggFunc) is not None
        and [c.name.lower() for c in p.find_all(exp.Column)] == [wanted]
    ]
    if len(unnamed) != 1:
        return None
    computed = unnamed[0]
    written = computed.sql(dialect=dialect or None)
    computed.replace(exp.alias_(computed.copy(), missing.column))
    return JoinedColumn(
        tree.sql(dialect=dialect or None),
        f"the subquery's {written} had no name and the outer query reads it as "
        f"{missing.column}; the query names it so",
    )


def own_key_for_named_id(
    sql: str, error: str, tables: list[TableInfo], dialect: str | None = None
) -> JoinedColumn | None:
    """``sql`` reading a table's own key where it named the column after the table and the
    database says no such column exists: ``COUNT(order_id)`` over ``orders``, whose key is
    ``id``. None unless exactly one table the query reads (in the error's scope: the table its
    qualifier stands for, if any) is named so and has a one-column key.

    On the demo the 1.5B wrote ``SELECT COUNT(order_id) FROM orders WHERE ...`` for "How many
    orders did gold customers place in 2024?" and, told that ``orders`` has no such column and
    that its key is ``orders.id``, wrote the same query again. ``order_id`` in another table
    refers to that key, so reading the key is what the query means; it fails otherwise, so
    nothing that ran is changed."""
    missing = missing_column(error)
    tree = parse_select(sql, dialect) if missing is not None else None
    if missing is None or tree is None:
        return None
    wanted = missing.column.lower()
    by_name = {t.name.lower(): t for t in tables}
    named: list[tuple[str, TableInfo, str, exp.Select | None]] = []
    for table in tree.find_all(exp.Table):
        info = by_name.get(table.name.lower())
        alias = table.alias_or_name
        if info is None or (missing.qualifier and alias.lower() != missing.qualifier.lower()):
            continue
        key = own_key_named(missing.column, info)
        if key is not None:
            named.append((alias, info, key, table.find_ancestor(exp.Select)))
    if len(named) != 1:
        return None
    alias, info, key, scope = named[0]
    # only in the SELECT that reads the table: a subquery's own column of that name is fine
    joined = len([t for t in tree.find_all(exp.Table) if t.find_ancestor(exp.Select) is scope])
    changed = 0
    for column in tree.find_all(exp.Column):
        qualifier = column.table.lower()
        if column.name.lower() != wanted or column.find_ancestor(exp.Select) is not scope:
            continue
        if qualifier in ("", alias.lower()):
            if not qualifier and joined > 1:
                column.set("table", exp.to_identifier(alias))
            column.set("this", exp.to_identifier(key, quoted=key != key.lower()))
            changed += 1
    if not changed:
        return None
    return JoinedColumn(
        tree.sql(dialect=dialect or None),
        f"{info.name} has no column {missing.column}; the query reads its own key, "
        f"{info.name}.{key}",
    )


def own_key_named(column: str, table: TableInfo) -> str | None:
    """``table``'s one-column key when ``column`` is named after the table and the table has
    no column of that name ("order_id" on ``orders``, whose key is ``id``); else None."""
    wanted = column.lower()
    keys = [c.name for c in table.columns if c.primary_key]
    singular = table.name.lower().removesuffix("s")
    if len(keys) != 1 or any(c.name.lower() == wanted for c in table.columns):
        return None
    return keys[0] if wanted in (f"{singular}_id", f"{singular}id") else None
