"""Synthetic few-shot examples instantiated on the target schema.

Generic question templates are filled with the database's own tables, columns and sample
values ("How many orders have status 'delivered'?" -> ``SELECT COUNT(*) FROM orders WHERE
orders.status = 'delivered'``). The examples most similar to a question go into the prompt,
so a small model copies a pattern that already uses the right tables and only adapts it.
"""

from __future__ import annotations

from dataclasses import dataclass

from podium.tools.sql import ColumnInfo, SchemaInfo, TableInfo


@dataclass(frozen=True)
class Example:
    question: str
    sql: str


def _human(name: str) -> str:
    return name.replace("_", " ").lower()


def _is_numeric(c: ColumnInfo) -> bool:
    return any(k in c.type.upper() for k in ("INT", "REAL", "NUM", "DEC", "FLOAT", "DOUBLE"))


def _is_text(c: ColumnInfo) -> bool:
    return any(k in c.type.upper() for k in ("CHAR", "TEXT", "CLOB", "STRING")) or not c.type


def _is_date(c: ColumnInfo) -> bool:
    return any(k in c.type.upper() for k in ("DATE", "TIME"))


def _sql_literal(value: object) -> str:
    return "'" + str(value).replace("'", "''") + "'"


def schema_examples(schema: SchemaInfo, per_table: int = 12) -> list[Example]:
    out: list[Example] = []
    for table in schema.tables:
        out.extend(_table_examples(table)[:per_table])
    for table in schema.tables:
        for col in table.columns:
            if col.foreign_key:
                out.extend(_join_examples(schema, table, col))
    return out


def _table_examples(t: TableInfo) -> list[Example]:
    T, ht = t.name, _human(t.name)
    texts = [c for c in t.columns if _is_text(c) and c.samples and not _is_date(c)]
    nums = [c for c in t.columns if _is_numeric(c) and not c.primary_key and not c.foreign_key]
    dates = [c for c in t.columns if _is_date(c)]
    label = next((c for c in t.columns if c.name.lower() in ("name", "title")), None)
    ex = [Example(f"How many {ht} are there?", f"SELECT COUNT(*) FROM {T}")]
    for c in texts[:3]:
        v = c.samples[0]
        ex.append(
            Example(
                f"How many {ht} have {_human(c.name)} {v}?",
                f"SELECT COUNT(*) FROM {T} WHERE {T}.{c.name} = {_sql_literal(v)}",
            )
        )
        ex.append(
            Example(
                f"Which {_human(c.name)} has the most {ht}?",
                f"SELECT {T}.{c.name}, COUNT(*) FROM {T} GROUP BY {T}.{c.name} "
                f"ORDER BY COUNT(*) DESC LIMIT 1",
            )
        )
        if label is not None and label is not c:
            ex.append(
                Example(
                    f"List the {_human(label.name)} of {ht} whose {_human(c.name)} is {v}.",
                    f"SELECT {T}.{label.name} FROM {T} WHERE {T}.{c.name} = {_sql_literal(v)}",
                )
            )
    for n in nums[:2]:
        ex.append(
            Example(
                f"What is the average {_human(n.name)} of {ht}?",
                f"SELECT AVG({T}.{n.name}) FROM {T}",
            )
        )
        if label is not None:
            ex.append(
                Example(
                    f"Which {ht} has the highest {_human(n.name)}?",
                    f"SELECT {T}.{label.name}, {T}.{n.name} FROM {T} "
                    f"ORDER BY {T}.{n.name} DESC LIMIT 1",
                )
            )
        if texts:
            c, v = texts[-1], texts[-1].samples[-1]
            ex.append(
                Example(
                    f"What is the total {_human(n.name)} of {ht} with {_human(c.name)} {v}?",
                    f"SELECT SUM({T}.{n.name}) FROM {T} WHERE {T}.{c.name} = {_sql_literal(v)}",
                )
            )
        ex.append(
            Example(
                f"How many {ht} have {_human(n.name)} equal to 0?",
                f"SELECT COUNT(*) FROM {T} WHERE {T}.{n.name} = 0",
            )
        )
    for d in dates[:1]:
        ex.append(
            Example(
                f"How many {ht} were there in 2023 ({_human(d.name)})?",
                f"SELECT COUNT(*) FROM {T} WHERE strftime('%Y', {T}.{d.name}) = '2023'",
            )
        )
    return ex


def _join_examples(schema: SchemaInfo, t: TableInfo, fk: ColumnInfo) -> list[Example]:
    ref_name, _, ref_col = (fk.foreign_key or "").partition("(")
    try:
        ref = schema.table(ref_name)
    except KeyError:
        return []
    on = f"{t.name}.{fk.name} = {ref.name}.{ref_col.rstrip(')')}"
    group = next((c for c in ref.columns if _is_text(c) and c.samples), None)
    if group is None:
        return []
    return [
        Example(
            f"Which {_human(group.name)} of {_human(ref.name)} has the most {_human(t.name)}?",
            f"SELECT {ref.name}.{group.name}, COUNT(*) FROM {t.name} JOIN {ref.name} ON {on} "
            f"GROUP BY {ref.name}.{group.name} ORDER BY COUNT(*) DESC LIMIT 1",
        )
    ]
