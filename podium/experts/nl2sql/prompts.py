"""The prompts of the NL2SQL ladder, built so that llama.cpp can reuse their common prefix.

Every prompt starts with the same system line and the same schema text for one database, and
only then varies (examples, the question, the drafts): consecutive calls on one database skip
most prompt processing (DESIGN.md: llama-cpp-python reuses the KV state of the previous
prompt's common prefix). The schema is the plain ``CREATE TABLE`` text of the database with a
few sample values per column — measured on this box, a 1.5B coder does better with the plain
schema than under the grammar and linked sub-schema built for the 135M model — cut to the
linked tables only when the whole schema is too long (``schema_chars``). Values the linker
found in the data for the question's literals are named after the schema.
"""

from __future__ import annotations

import re

from langchain_core.messages import AIMessage, BaseMessage, HumanMessage, SystemMessage

from podium.tools.sql import Database
from podium.tools.sql.tables import TableInfo

from .cascade import Attempt, describe
from .fewshot import PoolExample
from .joins import missing_column, own_key_named
from .linking import LinkedSchema

SYSTEM = (
    "You are a {dialect} expert. Given a database schema and a question, write one {dialect} "
    "SELECT query that answers the question. Reply with the SQL only."
)
_FENCE = re.compile(r"```(?:sql|sqlite)?\s*(.*?)(?:```|$)", re.S | re.I)


def system_message(db: Database) -> SystemMessage:
    return SystemMessage(SYSTEM.format(dialect=dialect_name(db)))


def dialect_name(db: Database) -> str:
    return {"sqlite": "SQLite", "postgresql": "PostgreSQL", "mysql": "MySQL"}.get(
        db.dialect or "", (db.dialect or "SQL").upper()
    )


def schema_text(db: Database, linked: LinkedSchema | None, schema_chars: int) -> str:
    """The whole schema when it fits in ``schema_chars``, else the linked part."""
    schema = db.schema()
    full = schema.ddl()
    if linked is None or len(full) <= schema_chars:
        return full
    return "\n".join(schema.table(t).ddl(columns=linked.columns[t]) for t in linked.tables)


def values_note(linked: LinkedSchema | None) -> str:
    if linked is None or not linked.values:
        return ""
    hits = ", ".join(
        f"{v.table}.{v.column} = '{str(v.value).replace(chr(39), chr(39) * 2)}'"
        for v in linked.values
    )
    return f"-- Values from the question found in the data: {hits}\n"


def _pairs(examples: list[PoolExample]) -> str:
    return "\n\n".join(f"Question: {e.question}\nSQL: {e.sql}" for e in examples)


def _examples(examples: list[PoolExample]) -> str:
    if not examples:
        return ""
    return (
        "Examples of questions and their SQL from other databases (their tables and columns "
        f"are not in this one; use only the schema above):\n\n{_pairs(examples)}\n\n"
    )


def _learned(examples: list[PoolExample]) -> str:
    """Verified examples of *this* database, learned from earlier runs (none: no text, so a
    workspace that has learned nothing gets the prompts it always got)."""
    if not examples:
        return ""
    return (
        "Questions about this database answered earlier, with their verified SQL (the "
        f"question below may need a different query):\n\n{_pairs(examples)}\n\n"
    )


def ask(
    db: Database,
    schema: str,
    question: str,
    *,
    values: str = "",
    examples: list[PoolExample] | None = None,
    note: str = "",
    learned: list[PoolExample] | None = None,
) -> list[BaseMessage]:
    """A plain request: schema, values, learned examples, other examples, question."""
    shots = _learned(learned or []) + _examples(examples or [])
    body = f"{schema}\n\n{values}{shots}{note}Question: {question}\nSQL:"
    return [system_message(db), HumanMessage(body)]


def finalise(
    db: Database,
    schema: str,
    question: str,
    drafts: list[Attempt],
    *,
    values: str = "",
    examples: list[PoolExample] | None = None,
    learned: list[PoolExample] | None = None,
) -> list[BaseMessage]:
    """The large model's request: the drafts of the small model and what each returned."""
    seen: dict[str, Attempt] = {}
    for a in drafts:
        seen.setdefault(a.sql.strip(), a)
    listed = "\n".join(f"{i}. {describe(a)}" for i, a in enumerate(seen.values(), 1))
    body = (
        f"{schema}\n\n{values}{_learned(learned or [])}{_examples(examples or [])}"
        f"Question: {question}\n\n"
        "A smaller model drafted these queries. They do not agree and may all be wrong; use "
        f"what is right in them:\n{listed}\n\n"
        f"Write the correct {dialect_name(db)} query for the question. Reply with the SQL only."
    )
    return [system_message(db), HumanMessage(body)]


def repair(
    messages: list[BaseMessage], attempt: Attempt, db: Database | None = None
) -> list[BaseMessage]:
    """The conversation so far plus the failure of the last query, and for a column the
    database does not have where it was looked for, the tables that do have it: told only
    "no such column: total", the 1.5B model wrote ``SELECT name FROM customers ORDER BY
    total`` again, where ``total`` is a column of ``orders``. A query that ran but has the
    wrong shape for the question (:mod:`.shape`) is told what is wrong with it instead."""
    if attempt.status == "ok" and attempt.problem:
        request = (
            f"That query ran, but it does not answer the question as asked. {attempt.problem} "
            "Reply with the SQL only."
        )
    else:
        problem = (
            (attempt.error or "it failed") if attempt.status != "ok" else "it returned no rows"
        )
        where = (
            column_owners(db, problem, attempt.sql)
            if db is not None and attempt.status != "ok"
            else ""
        )
        request = (
            f"That query is wrong: {problem}.{where} Check the table and column names against "
            "the schema and write a corrected query. Reply with the SQL only."
        )
    return [*messages, AIMessage(attempt.sql), HumanMessage(request)]


def column_owners(db: Database, error: str, sql: str = "") -> str:
    """For an error about a missing column, what the query's alias stood for and the tables
    that have the column, as sentences for the model ("In that query T2 is stadium, which has
    no column Name. Name is a column of: singer (...)"); empty when the error is about
    something else. Most of the 1.5B's failed repairs were an alias on the wrong table."""
    missing = missing_column(error)
    if missing is None:
        return ""
    qualifier, column = missing.qualifier, missing.column
    tables = db.schema().tables
    owners = [t for t in tables if any(c.name.lower() == column.lower() for c in t.columns)]
    said = ""
    aliases = _aliases(sql, db.dialect)
    aliased = aliases.get(qualifier.lower(), "") if qualifier else ""
    if qualifier and aliased and aliased.lower() != qualifier.lower():
        said = f" In that query {qualifier} is {aliased}, which has no column {column}."
    own = _own_key(column, {name.lower() for name in aliases.values()}, tables)
    if own:  # the other tables' column of that name only invites a join the query needs not
        return said + own
    if not owners:
        return f"{said} No table has a column named {column}."
    listed = "; ".join(f"{t.name} ({', '.join(c.name for c in t.columns)})" for t in owners[:4])
    return (
        f"{said} {column} is a column of: {listed}; join that table on its key if the query "
        "needs it."
    )


def _own_key(column: str, read: set[str], tables: list[TableInfo]) -> str:
    """A sentence naming the key of a table the query reads when the missing column is named
    after it (:func:`.joins.own_key_named`), else empty."""
    for table in tables:
        key = own_key_named(column, table) if table.name.lower() in read else None
        if key is not None:
            return (
                f" {table.name} has no column {column}: its own key is {table.name}.{key} "
                f"({column} in other tables refers to it)."
            )
    return ""


def _aliases(sql: str, dialect: str | None) -> dict[str, str]:
    """Alias (lower case) -> table name for every table a query reads."""
    import sqlglot
    from sqlglot import exp

    try:
        tree = sqlglot.parse_one(sql, read=dialect or None)
    except sqlglot.errors.SqlglotError:
        return {}
    return {t.alias_or_name.lower(): t.name for t in tree.find_all(exp.Table) if t.name}


def extract_sql(text: str) -> str:
    """The SQL in a reply: a fenced block, else the text from its first SELECT/WITH."""
    fenced = _FENCE.search(text)
    sql = fenced.group(1) if fenced else text
    start = re.search(r"\b(SELECT|WITH)\b", sql, re.I)
    if start and not fenced:
        sql = sql[start.start() :]
    sql = sql.strip()
    if ";" in sql:  # keep the first statement only when the rest is prose, not SQL
        first, _, rest = sql.partition(";")
        if not re.search(r"\b(SELECT|INSERT|UPDATE|DELETE|DROP|ATTACH|PRAGMA)\b", rest, re.I):
            sql = first
    return sql.strip().rstrip(";").strip()
