"""Whether a query that ran has the shape its question asks for.

Execution catches a query that fails or finds nothing; it does not catch one that runs and
answers a different question. Eight such mistakes of the ladder's models, found on the demo
shop and the Spider slice, are common enough to check for, and each can be told to the model in
one sentence:

* **One value where the question asks for one per group.** "What is the average order value
  per country?" answered ``SELECT AVG(total) FROM orders``: a single number, no country.
  Found from the question's words ("for each X", "per X", "X by Y" after an aggregate) and a
  result of one row and one column.
* **Entities ranked by one of their rows instead of a total over them.** "Which 5 customers
  spent the most?" answered ``SELECT c.name FROM customers c JOIN orders o ON ... ORDER BY
  o.total DESC LIMIT 5``: the five largest single orders, where a customer can come out twice
  and the biggest spender may be missing. Found from the query's structure (sqlglot): it
  orders, without grouping or aggregating, by a column of a table whose foreign key points at
  the table it shows.

* **A whole column listed where the question asks for one thing.** "When was the shop
  founded?" on a database that does not record it was answered ``SELECT signup_date FROM
  customers``: 300 dates, which the run then held for approval as too many rows to show.
  Found from the question's form ("When was ...", "Where is ...", "What is the ...", about
  one thing, not "all" or "each") and a query that lists several rows without choosing among
  them (no WHERE, GROUP BY, aggregate, LIMIT or DISTINCT). Told so, the large model wrote
  ``... WHERE id = 1``, and told that, ``... WHERE name = 'Theo Bakker'`` (customer 1): **a
  row picked by a key or a name the question never mentions** is the same mistake, and is
  checked for too (a number compared with a key column, or a string with a name or title
  column, that the question does not contain). So is a "Who is the ...?" answered with every
  row a filter the question never mentions lets through ("Who is the CEO of the shop?":
  ``SELECT name FROM customers WHERE segment = 'gold'``, 30 names), and, told so, the same
  with ``LIMIT 1``: a row LIMIT picks without ORDER BY is arbitrary. None of these is an
  answer, even when the large model writes it again (:func:`not_an_answer`).

* **Groups of the wrong thing ranked.** "Which product category has the most revenue?"
  answered by ranking products by their revenue and showing the top product's category. Found
  when the question's "which X" names a column the query shows and no GROUP BY of the query is
  on it.

* **One row kept where the question asks for several.** "List the countries with the most
  customers." answered with ``... ORDER BY COUNT(*) DESC LIMIT 1``: one country. Found from
  a plural noun right after "List/Show/Give (the)" or "Which" and a query ending in
  ``LIMIT 1``.

* **Either where the question asks for both.** "What are the names of nations that speak both
  English and French?" answered ``... WHERE language = 'English' OR language = 'French'``
  (or ``IN (...)``, or ``AND``, which no row satisfies): the Spider slice's "both" questions
  were wrong this way in 5 of 8 answers of the default. Found from the word "both" and one
  column filtered to two literals in the query's own WHERE.

* **Rows kept only when a child row exists.** "Show the name and the release year of the song
  by the youngest singer." answered ``... FROM singer JOIN singer_in_concert ON ... ORDER BY
  Age LIMIT 1``: the youngest singer who sang in a concert. Found when a query that lists rows
  joins a table it reads nothing from but the key it joins on, whose key points at the table
  it is joined to, and the question never names it (the same test as for a join that repeats
  the counted rows, without an aggregate).

* **The keys of two different things compared.** "Show names for all stadiums except for
  stadiums having a concert in year 2014." answered ``... WHERE Stadium_ID NOT IN (SELECT
  Concert_ID FROM concert ...)``: a stadium's id against a concert's. Found when a join, a
  filter or an ``IN`` subquery compares two key columns (a primary key, or a foreign key by the
  table it references) that name different tables.

The checks judge joins by the schema's foreign keys, and by the ones the data shows where the
schema declares none (``Database.keyed_tables``). Checked against every gold query of the
shared Spider slice: none is flagged (a test). None of
the checks reads a database's names: the words are English question forms and the
structure comes from the schema's keys, so they hold on databases Podium has never seen.
"""

from __future__ import annotations

import re
from collections.abc import Iterable

import sqlglot
from sqlglot import exp
from sqlglot.errors import SqlglotError
from sqlglot.optimizer.qualify import qualify
from sqlglot.optimizer.scope import Scope, build_scope

from podium.tools.sql import QueryResult
from podium.tools.sql.tables import ColumnInfo, TableInfo

_WORD = r"[a-z][\w-]*"
# "for each country", "in every city", "per category", "broken down by status"
_PER_GROUP = re.compile(
    rf"\b(?:for|in|of|from|across)\s+(?:each|every)\s+(?P<a>{_WORD})"
    rf"|\bper\s+(?P<b>{_WORD})"
    rf"|\b(?:broken|break|breaking|split|grouped|group)\s+(?:down\s+)?by\s+(?P<c>{_WORD})"
    rf"|\b(?:how many|what|which)\b[^?.]*?\b(?:does|do|did|has|have|is|are)\s+each"
    rf"\s+(?P<d>{_WORD})",
    re.I,
)
# "average order value by country", "revenue by category", "number of orders by status"
_AGGREGATE_BY = re.compile(
    rf"\b(?:average|mean|total|sum|number|count|revenue|sales|spend|spending|value|amount)\b"
    rf"(?P<between>(?:\s+{_WORD}){{0,3}}?)\s+by\s+(?P<e>{_WORD})",
    re.I,
)
# "per capita", "per cent": ratios, not groups; "on average"/"average number of ... per X" is
# one value too (the mean of the per-group counts)
_NOT_GROUPS = re.compile(
    r"\bper\s+(?:capita|cent|se|annum)\b|\bpercent|\bon average\b"
    r"|\b(?:average|mean)\s+(?:number|count|amount)\s+of\b[^?.]*\bper\b",
    re.I,
)
# the word before "by" that makes it an agent or an order, not a grouping: "placed by", "sorted by"
_NOT_GROUP_BY = re.compile(r"(?:ed|en|ing)$|^(?:made|sold|bought|held|paid|run|done|won|spent)$")
_RANKING = re.compile(
    r"\b(?:most|least|top|highest|lowest|largest|smallest|biggest|best|worst|fewest|greatest|"
    r"maximum|minimum|more|less|rank\w*)\b",
    re.I,
)


def per_group(question: str) -> str | None:
    """The group the question asks a value for ("country" in "... per country?"), or None."""
    if _NOT_GROUPS.search(question):
        return None
    found = _PER_GROUP.search(question)
    if found is not None:
        return next(g for g in found.groups() if g)
    for match in _AGGREGATE_BY.finditer(question):
        between = match.group("between").split()
        before = between[-1] if between else match.group(0).split()[0]
        if not _NOT_GROUP_BY.search(before.lower()):
            return match.group("e")
    return None


def one_value_for_groups(question: str, result: QueryResult) -> str | None:
    """The problem, said to the model, when a per-group question got one overall value."""
    group = per_group(question)
    if group is None or len(result.columns) != 1 or result.row_count != 1:
        return None
    return (
        f"The question asks for a value for each {group}, but that query returned one overall "
        f"value. Write a query that returns one row per {group}, with the {group} beside its "
        "value (GROUP BY)."
    )


def ranks_child_rows(
    question: str, sql: str, tables: Iterable[TableInfo], dialect: str | None = None
) -> str | None:
    """The problem, said to the model, when a query ranks the rows of a child table but shows
    only its parent's columns (no GROUP BY, no aggregate), so a parent is ranked by one of its
    rows instead of a total over them."""
    tree = parse_select(sql, dialect)
    if tree is None or not tree.args.get("order"):
        return None
    if not (tree.args.get("limit") or _RANKING.search(question)):
        return None
    read = _ungrouped_sources(tree, tables, dialect)
    if read is None:
        return None
    tree, tables_read, by_name = read
    sources = {alias: table.name.lower() for alias, table in tables_read.items()}

    def owners(nodes: Iterable[exp.Expression]) -> dict[str, str]:
        """table -> one of its columns, for the plain columns under ``nodes``."""
        found: dict[str, str] = {}
        for node in nodes:
            for column in node.find_all(exp.Column):
                table = sources.get(column.table.lower())
                if table is not None:
                    found.setdefault(table, column.name)
        return found

    ordered = owners(o.this for o in tree.args["order"].expressions)
    shown = owners(tree.expressions)
    if not ordered or not shown or set(ordered) & set(shown):
        return None
    for child, column in ordered.items():
        table = by_name.get(child)
        if table is None:
            continue
        if _names_child_rows(question, table.name, column):
            continue
        for c in table.columns:
            parent = _references(c).lower()
            if parent in shown:
                p, m = by_name[parent].name, table.name
                return (
                    f"That query ranks single {m} rows, not {p}: each {p} row has many {m} rows "
                    f"({m}.{c.name} references {p}), so the same {p} row can come out more than "
                    f"once and none is ranked by a total over its {m}. To rank {p}, GROUP BY "
                    f"the {p} key and order by an aggregate of {m}.{column} (SUM, COUNT, AVG or "
                    "MAX, as the question means)."
                )
    return None


# "spent more than 5,000 EUR", "ordered over 20 items in total": a threshold on a total
_TOTAL = re.compile(
    r"\b(?:spent|spends?|spending|in total|altogether|combined|in all|lifetime)\b", re.I
)
_OPERATORS: dict[type[exp.Expression], str] = {
    exp.GT: ">",
    exp.GTE: ">=",
    exp.LT: "<",
    exp.LTE: "<=",
}
_COMPARISONS = tuple(_OPERATORS)


def filters_child_rows(
    question: str, sql: str, tables: Iterable[TableInfo], dialect: str | None = None
) -> str | None:
    """The problem, said to the model, when a question sets a threshold on a total ("Which
    customers have spent more than 5,000 EUR?") and the query compares single rows of a child
    table with it (``WHERE orders.total > 5000``) while showing its parent's columns: a
    customer whose orders add up past the threshold, each below it, is left out."""
    if _TOTAL.search(question) is None:
        return None
    tree = parse_select(sql, dialect)
    read = _ungrouped_sources(tree, tables, dialect) if tree is not None else None
    if read is None:
        return None
    qualified, outer, by_name = read
    shown = {
        outer[c.table.lower()].name.lower()
        for e in qualified.expressions
        for c in e.find_all(exp.Column)
        if c.table.lower() in outer
    }
    for comparison in qualified.find_all(*_COMPARISONS):
        sides = _column_and_literal(comparison)
        if sides is None or sides[1].is_string:
            continue
        column, limit = sides
        select = column.find_ancestor(exp.Select)
        names = {
            t.alias_or_name.lower(): t.name.lower()
            for t in (select.find_all(exp.Table) if select is not None else [])
        }
        child = by_name.get(names.get(column.table.lower(), ""))
        if child is None or child.name.lower() in shown:
            continue
        for key in child.columns:
            parent = _references(key).lower()
            if parent in shown:
                p, m = by_name[parent].name, child.name
                bound = f"{_OPERATORS[type(comparison)]} {limit.this}"
                return (
                    f"That query compares single {m} rows with the threshold ({m}.{column.name} "
                    f"{bound}), not a total per {p}: a {p} row whose {m} add up past it, each "
                    f"below it, is left out. GROUP BY the {p} key and compare the total in "
                    f"HAVING, e.g. HAVING SUM({m}.{column.name}) {bound}."
                )
    return None


def _ungrouped_sources(
    tree: exp.Select, tables: Iterable[TableInfo], dialect: str | None
) -> tuple[exp.Select, dict[str, TableInfo], dict[str, TableInfo]] | None:
    """For a query that neither groups nor aggregates what it shows: the query with its
    columns qualified, the tables it reads by alias, and the schema's tables by name (all
    lower-case keys); None for any other query, or one the schema cannot resolve."""
    if tree.args.get("group") or tree.args.get("having"):
        return None
    if any(e.find(exp.AggFunc) for e in tree.expressions):
        return None
    by_name = {t.name.lower(): t for t in tables}
    read = qualified_sources(tree, by_name.values(), dialect)
    return (*read, by_name) if read is not None else None


def _names_child_rows(question: str, table: str, column: str) -> bool:
    """Whether the question is about the child rows themselves: "the latest order", "the 5
    largest orders", "the biggest bonus", "the most tickets at once". Then ranking them is
    right. "The most orders" asks for a count, "spent the most" for a sum."""
    if _SINGLE_ROW.search(question):
        return True
    words = [table.replace("_", " ")] + [w for w in column.split("_") if len(w) > 2]
    for word in words:
        stem = re.sub(r"(?:e?s)$", "", word.lower())
        for match in re.finditer(rf"\b{re.escape(stem)}(?:e?s)?\b", question, re.I):
            before = [w.lower() for w in question[: match.start()].split()[-2:]]
            counted = (bool(before) and before[-1] in _COUNTING) or before == ["number", "of"]
            if not counted:
                return True
    return False


_SINGLE_ROW = re.compile(r"\b(?:at once|at a time|single|one[- ]time|in one go)\b", re.I)
_COUNTING = {"most", "fewest", "least", "more", "less", "many"}


# "which product category has ...", "what country brings in ...": the noun the question ranks
_WHICH = re.compile(
    r"\b(?:which|what)\s+((?:[a-z][\w-]*\s+){0,2}?[a-z][\w-]*)\s+"
    r"(?:has|have|had|is|are|was|were|brings?|brought|makes?|made|sells?|sold|gets?|got|"
    r"earns?|earned|generates?|generated|with)\b",
    re.I,
)


def ranks_other_groups(
    question: str, sql: str, tables: Iterable[TableInfo] = (), dialect: str | None = None
) -> str | None:
    """The problem, said to the model, when "which category has the most revenue?" is answered
    by ranking groups of something else (products) and showing the top one's category: the
    question names the column it shows, and no GROUP BY of the query is on that column. Where
    the schema's keys link the shown column's table to the grouped one's, the sentence says
    how to join them: told only to group by the category, the 1.5B model wrote the same query
    again."""
    found = _WHICH.search(question)
    if found is None or not _RANKING.search(question):
        return None
    tree = parse_select(sql, dialect)
    if tree is None:
        return None
    keys = [c.name.lower() for g in tree.find_all(exp.Group) for c in g.find_all(exp.Column)]
    if not keys:
        return None
    asked = {_stem(w) for w in found.group(1).split()}
    for e in tree.expressions:
        if not isinstance(e.unalias(), exp.Column):
            continue
        name = e.unalias().name
        if _stem(name) in asked and name.lower() not in keys:
            key = keys[0]
            read = {t.name.lower() for t in tree.find_all(exp.Table)}
            how = _join_hint(name, key, [t for t in tables if t.name.lower() in read])
            # the measure the query ranked by, and its direction, kept: told only "the
            # aggregate", the 1.5B ranked the countries by SUM(total) where it had ranked by
            # AVG(total) DESC, and told the measure alone, by AVG(total) ascending
            measure = next(
                (
                    o.sql(dialect=dialect or None)
                    for o in tree.find_all(exp.Ordered)
                    if o.find(exp.AggFunc) is not None
                ),
                "the aggregate",
            )
            return (
                f"That query ranks groups of {key} and shows the {name} of the top ones, but "
                f"the question ranks each {name}: {how}GROUP BY {name} and order by {measure} "
                "over all its rows."
            )
    return None


def _join_hint(shown: str, key: str, tables: list[TableInfo]) -> str:
    """ "join products to order_items on order_items.product_id = products.id, " when a key of
    the grouped column's table points at the shown column's table; else nothing."""
    owners = [t for t in tables if any(c.name.lower() == shown.lower() for c in t.columns)]
    grouped = [t for t in tables if any(c.name.lower() == key.lower() for c in t.columns)]
    for p in owners:
        for m in grouped:
            for c in m.columns:
                if m is not p and _references(c).lower() == p.name.lower():
                    pk = (c.foreign_key or "").partition("(")[2].rstrip(")")
                    return f"join {p.name} to {m.name} on {m.name}.{c.name} = {p.name}.{pk}, then "
    return ""


def _stem(word: str) -> str:
    word = word.lower()
    if word.endswith("ies"):
        return word[:-3] + "y"
    return re.sub(r"(?:es|s)$", "", word) if len(word) > 3 else word


# "When was the shop founded?", "Where is the head office?", "What is the founding year?":
# one thing asked (not "What are ...", "List ...", "Which ... are")
_ONE_THING = re.compile(
    r"^\s*(?:when|where)\s+(?:was|is|did|does)\b|^\s*(?:what|who)\s+(?:is|was)\s+the\b", re.I
)
# "What is the name of all the cartoons ...": one property of many things
_MANY_THINGS = re.compile(r"\b(?:all|every|each|list)\b", re.I)
_LISTING = "The question asks about one thing, but that query lists"


def lists_a_whole_column(
    question: str, sql: str, result: QueryResult, dialect: str | None
) -> str | None:
    """The problem, said to the model, when a question about one thing got every row of a
    column (module docstring)."""
    if (
        result.row_count < 2
        or _ONE_THING.search(question) is None
        or _MANY_THINGS.search(question) is not None
    ):
        return None
    tree = parse_select(sql, dialect)
    if tree is None or any(
        tree.args.get(part) for part in ("group", "having", "limit", "distinct")
    ):
        return None
    if tree.find(exp.AggFunc) is not None or tree.find(exp.Subquery) is not None:
        return None
    where = tree.args.get("where")
    unsaid = _unsaid_filter(where.this, question) if where is not None else None
    if where is not None and unsaid is None:
        return None
    why = (
        f"its filter {unsaid} is nothing the question mentions"
        if unsaid
        else "no WHERE, ORDER BY with LIMIT, or aggregate"
    )
    return (
        f"{_LISTING} {result.row_count} rows without choosing one ({why}). Write a query that "
        "finds the one value the question asks for; if no table records it, listing a column "
        "does not answer it."
    )


def _unsaid_filter(condition: exp.Expression, question: str) -> str | None:
    """The filter as SQL when every value it compares with is a word the question does not
    mention (no question word starts with the value's first two letters: "French" mentions
    'France'), else None. Values that are not words ('2024-01-01', 'T', 42) are never judged:
    the question may name them in a form the value does not show."""
    literals = list(condition.find_all(exp.Literal))
    words = [w for lit in literals for w in re.findall(r"[a-z]+", lit.this.lower())]
    if not literals or any(not lit.is_string for lit in literals):
        return None
    if (
        not words
        or any(len(w) < 3 for w in words)
        or any(re.search(r"\d", lit.this) for lit in literals)
    ):
        return None
    asked = {w[:2] for w in re.findall(r"[a-z]+", question.lower())}
    if any(w[:2] in asked for w in words):
        return None
    return condition.sql()


_UNNAMED_ROW = "That query picks a row by its key or name"
# Columns that name a row: "name", "last_name", "title", "song_name"
_NAME_COLUMN = re.compile(r"(?:^|_)(?:name|title)$", re.I)


def picks_an_unnamed_row(
    question: str, sql: str, tables: Iterable[TableInfo], dialect: str | None
) -> str | None:
    """The problem, said to the model, when a query picks a row by a key value the question
    never names (module docstring)."""
    tree = parse_select(sql, dialect)
    where = tree.args.get("where") if tree is not None else None
    if where is None:
        return None
    keys = {
        c.name.lower()
        for t in tables
        for c in t.columns
        if c.primary_key or c.foreign_key or c.name.lower() == "id"
    }
    said = set(re.findall(r"\d+", question))
    for eq in where.find_all(exp.EQ):
        sides = _column_and_literal(eq)
        if sides is None:
            continue
        column, literal = sides
        if literal.is_string:
            unnamed = _NAME_COLUMN.search(column.name) is not None and (
                literal.this.lower() not in question.lower()
            )
            shown = f"'{literal.this}'"
        else:
            unnamed = column.name.lower() in keys and literal.this not in said
            shown = literal.this
        if unnamed:
            return (
                f"{_UNNAMED_ROW} ({column.name} = {shown}) that the question does not name, "
                "so its row is an arbitrary one. Find the row from what the question says; if "
                "no table records what it asks, one arbitrary row does not answer it."
            )
    return None


# "List the countries ...", "Show me the top products ...", "Which countries ...": the plural
# noun right after the asking words (not "What are the ...": Spider's gold answers "What are
# the languages used least?" with one row). "ss"/"us"/"is" endings are not plurals (address,
# status, analysis).
_SEVERAL = re.compile(
    r"^\s*(?:(?:please\s+)?(?:list|show|name|give)\s+(?:me\s+)?(?:the\s+)?(?:top\s+)?|which\s+)"
    r"(?P<noun>[a-z]+(?<![siu])s)\b",
    re.I,
)


def keeps_one_of_many(question: str, sql: str, dialect: str | None) -> str | None:
    """The problem, said to the model, when a question asks for several things ("List the
    countries with the most customers") and the query keeps one row (``LIMIT 1``)."""
    found = _SEVERAL.search(question)
    if found is None:
        return None
    tree = parse_select(sql, dialect)
    limit = tree.args.get("limit") if tree is not None else None
    count = limit.expression if limit is not None else None
    if not (isinstance(count, exp.Literal) and count.this == "1"):
        return None
    noun = found.group("noun").lower()
    return (
        f"The question asks for several {noun}, but that query keeps only one row (LIMIT 1). "
        f"Return the {noun} ranked, the first one first (ORDER BY ... DESC), with LIMIT 10 or "
        "no LIMIT."
    )


_ARBITRARY_ROW = "That query picks an arbitrary row"


def picks_an_arbitrary_row(question: str, sql: str, dialect: str | None) -> str | None:
    """The problem, said to the model, when a question about one thing is answered by a row
    that LIMIT without ORDER BY picks, among rows no filter the question mentions narrowed
    ("Who is the CEO of the shop?": ``... WHERE segment = 'gold' LIMIT 1``)."""
    if _ONE_THING.search(question) is None or _MANY_THINGS.search(question) is not None:
        return None
    tree = parse_select(sql, dialect)
    if tree is None or not tree.args.get("limit") or tree.args.get("order"):
        return None
    if tree.args.get("group") or tree.find(exp.AggFunc) is not None:
        return None
    where = tree.args.get("where")
    unsaid = _unsaid_filter(where.this, question) if where is not None else ""
    if unsaid is None:
        return None
    among = f"the rows of {unsaid}, which the question does not mention" if unsaid else "all rows"
    return (
        f"{_ARBITRARY_ROW} (LIMIT without ORDER BY, among {among}). Find the row from what the "
        "question says; if no table records what it asks, one arbitrary row does not answer it."
    )


def _column_and_literal(comparison: exp.Expression) -> tuple[exp.Column, exp.Literal] | None:
    """The column and the literal a comparison sets against each other, in either order;
    None when it compares anything else."""
    column, literal = comparison.this, comparison.expression
    if isinstance(column, exp.Literal):
        column, literal = literal, column
    if isinstance(column, exp.Column) and isinstance(literal, exp.Literal):
        return column, literal
    return None


def not_an_answer(problem: str | None) -> bool:
    """Whether a shape problem means the rows answer nothing (a column listed for a question
    about one thing, an arbitrary row), where the other problems' rows are an answer of the
    wrong shape."""
    return bool(problem and problem.startswith((_LISTING, _UNNAMED_ROW, _ARBITRARY_ROW)))


def _references(column: ColumnInfo) -> str:
    """The table a foreign-key column points to, as the schema writes it ("orders" for
    "orders(id)"); empty for any other column."""
    return (column.foreign_key or "").split("(")[0].strip()


def parse_select(sql: str, dialect: str | None) -> exp.Select | None:
    """``sql`` parsed, when it is one SELECT (not a union, not a statement sqlglot cannot
    read)."""
    try:
        tree = sqlglot.parse_one(sql, read=dialect or None)
    except SqlglotError:
        return None
    return tree if isinstance(tree, exp.Select) else None


def qualified_sources(
    tree: exp.Select, tables: Iterable[TableInfo], dialect: str | None
) -> tuple[exp.Select, dict[str, TableInfo]] | None:
    """A copy of ``tree`` with every column qualified by its table's alias, and the tables it
    reads from by (lower-case) alias; None when the schema cannot resolve it."""
    by_name = {t.name.lower(): t for t in tables}
    read = _qualified(tree.copy(), by_name, dialect)
    if read is None:
        return None
    qualified, scope = read
    if not isinstance(qualified, exp.Select):
        return None
    sources = {
        alias.lower(): by_name[source.name.lower()]
        for alias, source in scope.sources.items()
        if isinstance(source, exp.Table) and source.name.lower() in by_name
    }
    return qualified, sources


def _qualified(
    tree: exp.Expr, by_name: dict[str, TableInfo], dialect: str | None
) -> tuple[exp.Expr, Scope] | None:
    """``tree`` itself (qualify changes it in place) with every column qualified by its
    table's alias, and its root scope; None when the schema cannot resolve it."""
    schema: dict[str, object] = {
        t.name: {c.name: c.type or "TEXT" for c in t.columns} for t in by_name.values()
    }
    try:
        qualified = qualify(
            tree, schema=schema, dialect=dialect or None, validate_qualify_columns=False
        )
        scope = build_scope(qualified)
    except (SqlglotError, KeyError, ValueError):
        return None
    return None if scope is None else (qualified, scope)


def shape_problem(
    question: str, sql: str, result: QueryResult, tables: Iterable[TableInfo], dialect: str | None
) -> str | None:
    """The first shape problem of a query that ran and returned rows, or None."""
    return (
        one_value_for_groups(question, result)
        or compares_unrelated_keys(sql, tables, dialect)
        or selects_an_outer_column(sql, tables, dialect)
        or lists_a_whole_column(question, sql, result, dialect)
        or picks_an_unnamed_row(question, sql, tables, dialect)
        or picks_an_arbitrary_row(question, sql, dialect)
        or ranks_child_rows(question, sql, tables, dialect)
        or filters_child_rows(question, sql, tables, dialect)
        or ranks_other_groups(question, sql, tables, dialect)
        or keeps_one_of_many(question, sql, dialect)
        or multiplies_parent_rows(question, sql, tables, dialect)
        or sums_for_a_count(question, sql, tables, dialect)
        or keeps_rows_with_children(question, sql, tables, dialect)
        or averages_child_rows(question, sql, tables, dialect)
        or either_for_both(question, sql, dialect)
    )


_BOTH = re.compile(r"\bboth\b(?!\s+of\s+(?:them|these|those))", re.I)


def either_for_both(question: str, sql: str, dialect: str | None) -> str | None:
    """The problem, said to the model, when the question asks for what has *both* of two
    values ("nations that speak both English and French") and the query keeps the rows with
    either one (``language IN ('English', 'French')``, or ``= ... OR = ...``), or asks one row
    to hold both (``language = 'English' AND language = 'Dutch'``, never true). A row holds one
    value of a column; what has both has a row with each."""
    if _BOTH.search(question) is None:
        return None
    try:
        parsed = sqlglot.parse_one(sql, read=dialect or None)
    except SqlglotError:
        return None
    # "... WHERE year IN (2014, 2015) INTERSECT the same again" is still either year
    same_sides = isinstance(parsed, exp.Intersect) and parsed.this == parsed.expression
    tree = parsed.this if same_sides else parsed
    if not isinstance(tree, exp.Select) or tree.args.get("having"):
        return None
    if not same_sides and tree.find(exp.Intersect) is not None:
        return None
    where = tree.args.get("where")
    if where is None:
        return None
    for node in where.find_all(exp.In, exp.Or, exp.And):
        if node.find_ancestor(exp.Select) is not tree:
            continue  # a subquery's own filter
        found = _one_column_two_values(node)
        if found is None:
            continue
        column, values = found
        shown = " and ".join(values[:2])
        kept = (
            f"asks one row to hold both ({node.sql(dialect=dialect)}), which no row does"
            if isinstance(node, exp.And)
            else f"keeps the rows with either ({node.sql(dialect=dialect)})"
        )
        return (
            f"The question asks for what has both {shown}, but that query {kept}: a row holds "
            f"one value of {column}. Find what has a row with each: SELECT ... WHERE {column} = "
            f"{values[0]} INTERSECT SELECT ... WHERE {column} = {values[1]} (in a subquery "
            "when the question asks how many)."
        )
    return None


def _one_column_two_values(node: exp.Expression) -> tuple[str, list[str]] | None:
    """The column and the two or more different literals ``node`` sets it to: an IN list, or
    an OR (AND) of equalities on that one column. None for anything else."""
    if isinstance(node, exp.In):
        listed = [e for e in node.expressions if isinstance(e, exp.Literal)]
        if isinstance(node.this, exp.Column) and len(listed) >= 2 == len(node.expressions):
            return node.this.sql(), [v.sql() for v in listed]
        return None
    sides = [node.this, node.expression]
    pairs = [_column_and_literal(side) for side in sides if isinstance(side, exp.EQ)]
    if len(pairs) != 2 or None in pairs:
        return None
    (col_a, lit_a), (col_b, lit_b) = pairs  # type: ignore[misc]
    if col_a.sql().lower() != col_b.sql().lower() or lit_a.sql() == lit_b.sql():
        return None
    return col_a.sql(), [lit_a.sql(), lit_b.sql()]


# "the average number of items per order", "the mean amount spent per customer"
_AVERAGE_PER = re.compile(
    rf"\b(?:average|mean)\b[^?.]*?\bper\s+(?P<per>{_WORD}(?:\s+{_WORD}){{0,2}})", re.I
)
# Where the noun after "per" ends: "per order in 2024" is per order, "per order line" per line.
_PHRASE_END = frozenset(
    "in for of on at during from across over with by placed made since last this that and or "
    "was were is are".split()
)


def averages_child_rows(
    question: str, sql: str, tables: Iterable[TableInfo], dialect: str | None = None
) -> str | None:
    """The problem, said to the model, when the question asks for an average per parent row
    ("the average number of items per order") and the query averages the child rows one by
    one: ``SELECT AVG(quantity) FROM order_items`` is the mean of single order lines (1.6 on
    the demo), not of each order's items (3.4)."""
    asked = _AVERAGE_PER.search(question)
    tree = parse_select(sql, dialect)
    if asked is None or tree is None or tree.args.get("group"):
        return None
    averages = [a for e in tree.expressions for a in e.find_all(exp.Avg)]
    if not averages or any(a.find(exp.Select) for a in averages):
        return None
    read = qualified_sources(tree, tables, dialect)
    if read is None:
        return None
    qualified, sources = read
    phrase = []
    for word in asked.group("per").split():
        if word.lower() in _PHRASE_END:
            break
        phrase.append(word)
    per = _stem(phrase[-1])
    averaged = {
        column.table.lower()
        for e in qualified.expressions
        for a in e.find_all(exp.Avg)
        for column in a.find_all(exp.Column)
    }
    for alias in averaged:
        child = sources.get(alias)
        if child is None:
            continue
        for c in child.columns:
            parent = _references(c)
            if parent and _stem(parent) == per and parent.lower() != child.name.lower():
                return (
                    f"That query averages single {child.name} rows, but the question asks "
                    f"for an average per {parent} row, and each {parent} row has many "
                    f"{child.name} rows ({child.name}.{c.name} references {parent}). Count or "
                    f"sum the {child.name} rows of each {parent} in a subquery (GROUP BY "
                    f"{child.name}.{c.name}), then take the AVG of those per-{per} values."
                )
    return None


# Aggregates a repeated row changes; MAX, MIN and COUNT(DISTINCT ...) come out the same.
_MULTIPLIED = (exp.Sum, exp.Avg, exp.Count)


def multiplies_parent_rows(
    question: str, sql: str, tables: Iterable[TableInfo], dialect: str | None = None
) -> str | None:
    """The problem, said to the model, when a count, sum or average over a table's rows joins
    a child table that the question never mentions and whose data the query never reads (only
    its keys): every parent row is then counted once per child row. "What share of orders were
    returned?" was answered ``... / COUNT(T2.id) FROM orders AS T1 JOIN order_items AS T2 ...``:
    11.14 % of order lines, where 10.73 % of orders were returned."""
    tree = parse_select(sql, dialect)
    if tree is None or not tree.args.get("joins") or tree.args.get("group"):
        return None
    if not any(_multiplied(e) for e in tree.expressions):
        return None
    read = qualified_sources(tree, tables, dialect)
    if read is None:
        return None
    qualified, sources = read
    names = {table.name.lower() for table in sources.values()}
    for alias, child in sources.items():
        keys = _key_columns(child)
        parents = {_references(c).lower() for c in child.columns if c.foreign_key} & names
        if not parents:
            continue
        read_columns = {
            column.name.lower()
            for column in qualified.find_all(exp.Column)
            if column.table.lower() == alias and column.find_ancestor(exp.Join) is None
        }
        if read_columns - keys:
            continue  # the query reads the child's own data: the join is meant
        parent = sorted(parents)[0]
        if not _unasked(child, parent, question):
            continue
        return (
            f"That query joins {child.name}, which the question does not ask about and from "
            f"which it reads nothing but keys, so each {parent} row is repeated once per "
            f"{child.name} row and its counts, sums and averages are over {child.name} rows. "
            f"Leave {child.name} out of the query."
        )
    return None


# "How many cancelled orders were there ...": the words after "how many" up to the first verb
# or preposition; one of them names the table whose rows are counted ("How many items were in
# order 5?" counts items, not orders).
_HOW_MANY = re.compile(r"\bhow\s+many\s+((?:[\w-]+\s+){0,3}[\w-]+)", re.I)
_COUNTED_END = _PHRASE_END | frozenset(
    "be been do does did have has had will can could would should per to there which who "
    "whose than".split()
)


def sums_for_a_count(
    question: str, sql: str, tables: Iterable[TableInfo], dialect: str | None = None
) -> str | None:
    """The problem, said to the model, when the question asks how many rows of a table there
    are and the query adds up another table's values instead of counting: "How many cancelled
    orders were there in 2024?" was answered ``SELECT SUM(T1.quantity) FROM order_items AS T1
    JOIN orders AS T2 ...`` by two of four drafts (89 items, where 33 orders were cancelled).
    A sum of the counted table's own column ("How many products are in stock?":
    ``SUM(stock)``) or a "how many" naming no table ("How many items were sold?") is left
    alone: there the sum may be the number asked for."""
    asked = _HOW_MANY.search(question)
    tree = parse_select(sql, dialect)
    if asked is None or tree is None:
        return None
    tables = list(tables)
    by_stem = {_stem(t.name): t for t in tables if "_" not in t.name}
    words: list[str] = []
    for word in asked.group(1).lower().split():
        if word in _COUNTED_END:
            break
        words.append(word)
    named = [by_stem[_stem(w)] for w in words if _stem(w) in by_stem]
    counted = named[-1] if named else None
    if counted is None:
        return None
    if any(e.find(exp.Count) for e in tree.expressions):
        return None
    read = qualified_sources(tree, tables, dialect)
    if read is None:
        return None
    qualified, sources = read
    sums = [
        s
        for e in qualified.expressions
        for s in e.find_all(exp.Sum)
        if s.find_ancestor(exp.Select) is qualified
    ]
    if not sums:
        return None
    summed: list[str] = []
    for total in sums:
        owners = {
            sources[c.table.lower()].name
            for c in total.find_all(exp.Column)
            if c.table.lower() in sources
        }
        if not owners or counted.name in owners:
            return None
        columns = [
            f"{sources[c.table.lower()].name}.{c.name}"
            for c in total.find_all(exp.Column)
            if c.table.lower() in sources
        ]
        summed.append(f"SUM({columns[0]})" if len(columns) == 1 else total.sql(dialect=dialect))
    return (
        f"The question asks how many {counted.name} there are, but that query adds up "
        f"{' and '.join(summed)}, values of another table, instead of counting "
        f"{counted.name} rows. Count them: COUNT(*) over {counted.name}, or COUNT(DISTINCT "
        f"{counted.name}.<its key>) when a join repeats its rows."
    )


def selects_an_outer_column(
    sql: str, tables: Iterable[TableInfo], dialect: str | None = None
) -> str | None:
    """The problem, said to the model, when an ``IN`` subquery selects a column its own tables
    do not have: the database then reads the outer row's column of that name, and ``x IN
    (SELECT x FROM t ...)`` holds for every row where ``t`` has any row. "How many orders did
    gold customers place in 2024?" was drafted ``... WHERE customer_id IN (SELECT customer_id
    FROM customers WHERE segment = 'gold')`` twice: every order of 2024 (402), not the gold
    customers' 53. Never a right answer on Spider: it held for 11 distinct drafts of the 16th
    and 17th sessions' runs, all wrong, and for no gold query."""
    tree = parse_select(sql, dialect)
    if tree is None:
        return None
    by_name = {t.name.lower(): t for t in tables}
    for node in tree.find_all(exp.In):
        query = node.args.get("query")
        sub = query.this if query is not None else None
        if not isinstance(sub, exp.Select) or len(sub.expressions) != 1:
            continue
        selected = sub.expressions[0]
        if not isinstance(selected, exp.Column) or selected.table:
            continue
        own = [
            t.name.lower() for t in sub.find_all(exp.Table) if t.find_ancestor(exp.Select) is sub
        ]
        if not own or any(name not in by_name for name in own):
            continue
        wanted = selected.name.lower()
        if any(wanted in {c.name.lower() for c in by_name[name].columns} for name in own):
            continue
        outer = [
            c
            for t in tree.find_all(exp.Table)
            if t.find_ancestor(exp.Select) is not sub and t.name.lower() in by_name
            for c in by_name[t.name.lower()].columns
            if c.name.lower() == wanted
        ]
        if not outer:
            continue  # not the outer row's either: the database reports it missing
        table = by_name[own[0]]
        meant = next((c.foreign_key for c in outer if _references(c).lower() in own), None)
        hint = (
            f"Select the column it refers to, {meant.replace('(', '.').rstrip(')')}."
            if meant
            else f"Select a column of {table.name} that holds those values."
        )
        return (
            f"That query's subquery selects {selected.name}, but {table.name} has no column "
            f"{selected.name}, so the database reads the outer row's own {selected.name}: the "
            f"subquery compares each row with itself. {hint}"
        )
    return None


def _unasked(child: TableInfo, parent: str, question: str) -> bool:
    """Whether the question never names the child table joined to ``parent``: none of the
    words of its name that are not the parent's ("concert" of ``singer_in_concert``) appears.
    False when the name has no such word: then we cannot tell."""
    own = [w for w in child.name.lower().split("_") if len(w) > 2 and w not in parent]
    return bool(own) and not any(
        re.search(rf"\b{re.escape(_stem(w))}", question, re.I) for w in own
    )


def _key_columns(table: TableInfo) -> set[str]:
    """A table's key columns (lower case): its foreign keys and a one-column primary key. Part
    of a composite primary key that references nothing is data: ``countrylanguage.Language``
    in (``CountryCode``, ``Language``)."""
    primary = [c for c in table.columns if c.primary_key]
    keys = {c.name.lower() for c in table.columns if c.foreign_key}
    if len(primary) == 1:
        keys.add(primary[0].name.lower())
    return keys


def _multiplied(expression: exp.Expression) -> bool:
    """Whether an aggregate under ``expression`` changes when a row is repeated."""
    for aggregate in expression.find_all(*_MULTIPLIED):
        if not (isinstance(aggregate, exp.Count) and isinstance(aggregate.this, exp.Distinct)):
            return True
    return False


def keeps_rows_with_children(
    question: str, sql: str, tables: Iterable[TableInfo], dialect: str | None = None
) -> str | None:
    """The problem, said to the model, when a query that lists rows (no aggregate, no GROUP
    BY) joins a child table the question never mentions and reads nothing of it but the key
    it joins on: the rows without a child row are dropped and the others repeated once per
    child row. "Show the name and the release year of the song by the youngest singer." was
    answered ``... FROM singer AS T1 JOIN singer_in_concert AS T2 ON ... ORDER BY T1.Age LIMIT
    1``: the youngest singer *who sang in a concert*, not the youngest singer. The join the
    question does ask for ("singers who performed in a concert") names the child's table."""
    tree = parse_select(sql, dialect)
    if tree is None or not tree.args.get("joins") or tree.args.get("group"):
        return None
    if any(e.find(exp.AggFunc) for e in tree.expressions) or tree.args.get("having"):
        return None
    read = qualified_sources(tree, tables, dialect)
    if read is None:
        return None
    qualified, sources = read
    names = {alias: table.name.lower() for alias, table in sources.items()}
    for alias, child in sources.items():
        parents = {_references(c).lower() for c in child.columns if c.foreign_key}
        columns = [c for c in qualified.find_all(exp.Column) if c.table.lower() == alias]
        found = [c.find_ancestor(exp.Join) for c in columns]
        joins = [j for j in found if j is not None]
        if not columns or len(joins) < len(found) or len({id(j) for j in joins}) != 1:
            continue  # read outside its join, or a bridge joined to two tables: meant
        join = joins[0]
        if not any(join is j for j in qualified.args.get("joins") or []):
            continue  # a join of a subquery
        others = {
            names.get(c.table.lower(), "")
            for c in join.find_all(exp.Column)
            if c.table.lower() != alias
        }
        if not others or not others <= parents or child.name.lower() in others:
            continue  # joined to a table it does not reference, or to itself
        parent = sorted(others)[0]
        if not _unasked(child, parent, question):
            continue
        return (
            f"That query joins {child.name}, which the question does not ask about and from "
            f"which it reads nothing but the key it joins on: it keeps only the {parent} rows "
            f"that have a {child.name} row, and repeats each once per {child.name} row. Leave "
            f"{child.name} out of the query."
        )
    return None


def compares_unrelated_keys(
    sql: str, tables: Iterable[TableInfo], dialect: str | None = None
) -> str | None:
    """The problem, said to the model, when a query joins or filters by comparing the keys of
    two different things: "Show names for all stadiums except for stadiums having a concert in
    year 2014." was answered ``... WHERE Stadium_ID NOT IN (SELECT Concert_ID FROM concert
    WHERE Year = 2014)``, a stadium's id against a concert's. A key names the table it is the
    primary key of, or the table its foreign key references; two keys that name different
    tables never mean the same row, whatever numbers they happen to share. Columns that are
    not keys are not judged, and the question is not read: the mistake is in the query alone.
    Of the Spider slice's 493 gold queries none is flagged; of the distinct answers and drafts
    it flags in two full runs, 32 were wrong and 5 right by coincidence (a self-join on the
    wrong keys that happened to return the gold rows)."""
    try:
        tree = sqlglot.parse_one(sql, read=dialect or None)
    except SqlglotError:
        return None
    by_name = {t.name.lower(): t for t in tables}
    read = _qualified(tree, by_name, dialect)
    if read is None:
        return None
    qualified, root = read
    scopes = {id(scope.expression): scope for scope in root.traverse()}

    def entity(column: exp.Expression) -> tuple[str, TableInfo, ColumnInfo] | None:
        """The table ``column``'s key names, with the column's own table and schema entry."""
        if not isinstance(column, exp.Column) or not column.table:
            return None
        select = column.find_ancestor(exp.Select)
        scope = scopes.get(id(select)) if select is not None else None
        while scope is not None and column.table not in scope.sources:
            scope = scope.parent
        source = scope.sources.get(column.table) if scope is not None else None
        if not isinstance(source, exp.Table) or source.name.lower() not in by_name:
            return None
        table = by_name[source.name.lower()]
        info = next((c for c in table.columns if c.name.lower() == column.name.lower()), None)
        if info is None:
            return None
        if info.foreign_key:
            return _references(info).lower(), table, info
        if info.name.lower() in _key_columns(table):
            return table.name.lower(), table, info
        return None

    for node in qualified.find_all(exp.EQ, exp.In):
        if isinstance(node, exp.EQ):
            left, right = node.this, node.expression
        else:
            query = node.args.get("query")
            inner = query.this if isinstance(query, exp.Subquery) else None
            if not isinstance(inner, exp.Select) or len(inner.expressions) != 1:
                continue
            left, right = node.this, inner.expressions[0].unalias()
        a, b = entity(left), entity(right)
        if a is None or b is None or a[0] == b[0]:
            continue
        (named, table, column), (other, other_table, other_column) = a, b
        hint = next(
            (
                f" {holder.name}.{c.name} is the column of {holder.name} that refers to {target}."
                for holder, target in ((other_table, named), (table, other))
                for c in holder.columns
                if _references(c).lower() == target
            ),
            "",
        )
        return (
            f"That query compares {table.name}.{column.name}, which identifies a {named} row, "
            f"with {other_table.name}.{other_column.name}, which identifies a {other} row: "
            f"they never name the same thing.{hint} Compare keys that refer to the same table."
        )
    return None
