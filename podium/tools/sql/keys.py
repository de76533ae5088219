"""Foreign keys a schema does not declare, inferred from names and from the data.

Many real databases (and some Spider copies: ``world_1`` here declares none) join on columns
that no constraint links. A model that sees ``REFERENCES country(Code)`` joins ``city`` to
``country`` on the right column; without it, it guesses. A column is taken as a key to
another table when both kinds of evidence agree:

* **name** — the column is named after the other table and its primary key (``CountryCode``
  for ``country.Code``, ``singer_id`` for ``singer.id``, ``Template_ID`` for
  ``Templates.Template_ID``), or carries the other table's primary-key name when that name
  is specific (not a bare ``id``);
* **values** — at least ``min_overlap`` of the column's distinct non-null values are values
  of that primary key.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import TYPE_CHECKING

import sqlalchemy as sa

if TYPE_CHECKING:
    from .tables import TableInfo


@dataclass(frozen=True)
class InferredKey:
    table: str
    column: str
    ref_table: str
    ref_column: str
    overlap: float  # share of the column's distinct values found in the referenced key

    @property
    def target(self) -> str:
        return f"{self.ref_table}({self.ref_column})"


def infer_foreign_keys(
    conn: sa.Connection, tables: list[TableInfo], quote: object, min_overlap: float = 0.9
) -> list[InferredKey]:
    """Keys between ``tables`` that no constraint declares (see module doc)."""
    q = quote  # the dialect's identifier quoting
    keyed = {}  # tables with a one-column primary key: what a foreign key can point at
    for t in tables:
        pks = [c for c in t.columns if c.primary_key]
        if len(pks) == 1:
            keyed[t.name] = pks[0]
    out: list[InferredKey] = []
    for t in tables:
        sole_pk = keyed.get(t.name)
        for c in t.columns:
            if c.foreign_key or (sole_pk is not None and c is sole_pk):
                continue
            for ref_table, pk in keyed.items():
                if ref_table == t.name or not _named_after(c.name, ref_table, pk.name):
                    continue
                overlap = _overlap(conn, q, t.name, c.name, ref_table, pk.name)
                if overlap is not None and overlap >= min_overlap:
                    out.append(InferredKey(t.name, c.name, ref_table, pk.name, round(overlap, 3)))
                    break
    return out


def _named_after(column: str, table: str, pk: str) -> bool:
    col, tab, key = _norm(column), _norm(table), _norm(pk)
    names = {tab + key, _singular(tab) + key}
    if key not in ("id", "code", "key", "no", "num"):
        names.add(key)
    return col in names


def _overlap(
    conn: sa.Connection, q: object, table: str, column: str, ref_table: str, ref_column: str
) -> float | None:
    a, b = f"{q(table)}.{q(column)}", f"{q(ref_table)}.{q(ref_column)}"  # type: ignore[operator]
    total, found = conn.execute(
        sa.text(
            f"SELECT COUNT(DISTINCT {a}), COUNT(DISTINCT CASE WHEN {b} IS NOT NULL THEN {a} END) "
            f"FROM {q(table)} LEFT JOIN {q(ref_table)} ON {a} = {b}"  # type: ignore[operator]
        )
    ).one()
    return found / total if total else None


def _norm(name: str) -> str:
    return re.sub(r"[^a-z0-9]", "", name.lower())


def _singular(name: str) -> str:
    if name.endswith("ies"):
        return name[:-3] + "y"
    return name[:-1] if name.endswith("s") and not name.endswith("ss") else name
