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


@dataclass(frozen=True)
class KeyLink:
    """One declared foreign key: ``child.column`` references ``parent.target``."""

    child: str
    column: str
    parent: str
    target: str


def key_links(tables: list[TableInfo]) -> list[KeyLink]:
    """Every declared foreign key between the tables, in schema order."""
    names = {t.name.lower(): t.name for t in tables}
    links = []
    for table in tables:
        for column in table.columns:
            found = _REFERENCE.match(column.foreign_key or "")
            if found is not None and found.group(1).lower() in names:
                parent = names[found.group(1).lower()]
                links.append(KeyLink(table.name, column.name, parent, found.group(2)))
    return links


def join_path(
    tables: list[TableInfo], start: list[str], goal: str, max_joins: int = 3
) -> str | None:
    """The JOIN clauses that reach table ``goal`` from one of the ``start`` tables along
    declared keys, fewest joins first ("JOIN order_items ON order_items.product_id =
    products.id JOIN orders ON orders.id = order_items.order_id"); None when no path of at
    most ``max_joins`` joins exists or ``goal`` is already read. Told only which table has a
    column, the 1.5B model read ``orders.total`` inside ``IN`` subqueries, where no outer row
    can see it; the path is what it needed to write the join."""
    wanted = goal.lower()
    starts = [s.lower() for s in start]
    if wanted in starts:
        return None
    links = key_links(tables)
    paths: dict[str, list[tuple[KeyLink, str]]] = {s: [] for s in starts}
    frontier = list(starts)
    for _ in range(max_joins):
        reached: list[str] = []
        for here in frontier:
            for link in links:
                ends = {link.child.lower(): link.parent, link.parent.lower(): link.child}
                if here not in ends or link.child.lower() == link.parent.lower():
                    continue
                there = ends[here]
                if there.lower() not in paths:
                    paths[there.lower()] = [*paths[here], (link, there)]
                    reached.append(there.lower())
        if wanted in paths:
            return " ".join(
                f"JOIN {to} ON {link.child}.{link.column} = {link.parent}.{link.target}"
                for link, to in paths[wanted]
            )
        frontier = reached
    return None


def tables_around(sql: str, missing: MissingColumn, dialect: str | None = None) -> list[str]:
    """The tables read by the SELECT that names the missing column (its own FROM and JOINs,
    not its subqueries'); empty when that is not one SELECT of plain tables."""
    tree = parse_select(sql, dialect)
    if tree is None:
        return []
    wanted, qualifier = missing.column.lower(), (missing.qualifier or "").lower()
    scopes = {
        id(select): select
        for column in tree.find_all(exp.Column)
        if column.name.lower() == wanted and (column.table or "").lower() == qualifier
        for select in [column.find_ancestor(exp.Select)]
        if select is not None
    }
    if len(scopes) != 1:
        return []
    select = next(iter(scopes.values()))
    names = {t.name.lower(): t.name for t in select.find_all(exp.Table)}
    read = _tables_read(select)
    return [names.get(name, name) for name in dict.fromkeys(read.values())] if read else []
