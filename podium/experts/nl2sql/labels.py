"""Result columns named for the answer's writer.

A computed column reaches the writer under its alias alone. "Who is our best customer in
Germany?" returned ``SELECT c.name, SUM(o.total) AS total ...`` and the 1.5B writer, reading
``[name, total] Theo Bakker, 5465.59``, answered "a total of 5465.59 orders placed". The
alias says nothing about what was added up, so an aggregate's column is labelled with its
computation in words and real table names: ``total (sum of orders.total)``. Plain columns,
unaliased aggregates (``COUNT(*)`` already says what it is) and anything that cannot be
paired with the query's projections keep the database's names.
"""

from __future__ import annotations

from sqlglot import exp

from .shape import parse_select

_WORDS: dict[type[exp.Expression], str] = {
    exp.Sum: "sum",
    exp.Avg: "average",
    exp.Count: "number",
    exp.Max: "largest",
    exp.Min: "smallest",
}


def column_labels(sql: str, columns: list[str], dialect: str | None) -> list[str]:
    """``columns`` as the writer should read them: an aliased aggregate gains its
    computation ("total (sum of orders.total)"); every other column keeps its name."""
    tree = parse_select(sql, dialect)
    if tree is None or len(tree.expressions) != len(columns):
        return list(columns)
    tables = {t.alias_or_name.lower(): t.name for t in tree.find_all(exp.Table)}
    return [
        _labelled(name, projection, tables, dialect)
        for name, projection in zip(columns, tree.expressions, strict=True)
    ]


def _labelled(
    name: str, projection: exp.Expression, tables: dict[str, str], dialect: str | None
) -> str:
    if not isinstance(projection, exp.Alias):
        return name
    aggregate = projection.this
    words = _WORDS.get(type(aggregate))
    if words is None:
        return name
    argument = aggregate.this
    if isinstance(argument, exp.Star) or argument is None:
        return f"{name} (number of rows)"
    distinct = isinstance(argument, exp.Distinct)
    if distinct:
        argument = argument.expressions[0] if argument.expressions else argument
    read = _with_table_names(argument, tables).sql(dialect=dialect or None)
    return f"{name} ({words} of {'distinct ' if distinct else ''}{read})"


def _with_table_names(node: exp.Expression, tables: dict[str, str]) -> exp.Expression:
    """A copy of ``node`` whose columns name their table, not the query's alias for it."""
    named = node.copy()
    for column in named.find_all(exp.Column):
        real = tables.get(column.table.lower()) if column.table else None
        if real:
            column.set("table", exp.to_identifier(real))
    return named
