"""Schema linking: which tables and columns a question is about, with scores.

Two signals, as in the schema-linking step of ZeroNL2SQL / RESDSQL-style pipelines:

* **names** — every phrase of the question (1–3 word n-grams, stop words dropped) is embedded
  and compared with each column's text (``table column``, underscores as spaces); a column
  scores the best cosine any phrase reaches. Tables score by their own name and their best
  columns.
* **values** — literals in the question (quoted strings, numbers, capitalised words, any
  n-gram) are looked up in an index of the distinct values of the database's text columns;
  a hit links the column and records the value, so the query can filter on it exactly.

The result is a :class:`LinkedSchema`: the chosen tables (plus the tables that join them),
the chosen columns, every score, and the value hits. It renders as a compact ``CREATE TABLE``
text, so a schema of hundreds of columns still fits a small model's context.
"""

from __future__ import annotations

import re
import threading
from dataclasses import dataclass, field
from typing import Any, Protocol

import numpy as np
import sqlalchemy as sa

from podium.tools.sql.database import Database, SchemaInfo
from podium.tools.sql.tables import ColumnInfo, TableInfo

_WORD = re.compile(r"[A-Za-z0-9][A-Za-z0-9'.\-]*")
_QUOTED = re.compile(r"[\"“'‘]([^\"”'’]{1,60})[\"”'’]")
_STOP = frozenset(
    "a an the of in on at to for from by with and or is are was were be been do does did "
    "what which who whom whose how many much show list give find return me all each every "
    "that this those these their there than as it its have has had any some per number "
    "count total sort order ordered descending ascending name names".split()
)


class Encoder(Protocol):
    def encode(self, texts: list[str]) -> np.ndarray: ...


@dataclass(frozen=True)
class ValueMatch:
    table: str
    column: str
    value: Any
    phrase: str


@dataclass
class LinkedSchema:
    """The part of a schema a question needs, with the evidence for each choice."""

    tables: list[str]
    columns: dict[str, list[str]]
    table_scores: dict[str, float]
    column_scores: dict[str, float]  # "table.column" -> score
    values: list[ValueMatch] = field(default_factory=list)
    total_columns: int = 0

    def ddl(self, schema: SchemaInfo) -> str:
        """CREATE TABLE text of the linked part, with the question's values noted."""
        parts = [schema.table(t).ddl(columns=self.columns[t]) for t in self.tables]
        if self.values:
            hits = ", ".join(f"{v.table}.{v.column} = {_literal(v.value)}" for v in self.values)
            parts.append(f"-- values named in the question: {hits}")
        return "\n".join(parts)

    def as_dict(self) -> dict[str, Any]:
        return {
            "tables": [
                {"name": t, "score": round(self.table_scores.get(t, 0.0), 3)} for t in self.tables
            ],
            "columns": {
                t: [
                    {"name": c, "score": round(self.column_scores.get(f"{t}.{c}", 0.0), 3)}
                    for c in cols
                ]
                for t, cols in self.columns.items()
            },
            "values": [
                {"table": v.table, "column": v.column, "value": v.value, "phrase": v.phrase}
                for v in self.values
            ],
            "linked_columns": sum(len(c) for c in self.columns.values()),
            "total_columns": self.total_columns,
        }


StoredValues = dict[str, list[tuple[str, str, Any]]]  # lower-cased value -> (table, column, value)


class SchemaIndex:
    """Embeddings of every column and table name plus an index of text values, per database.

    Built once per database (see :class:`SchemaLinker`); ``max_values`` distinct values per
    text column are indexed, so a large table costs a bounded scan.
    """

    def __init__(self, db: Database, encoder: Encoder, max_values: int = 2000) -> None:
        self.schema = db.schema()
        self.columns: list[tuple[str, str]] = [
            (t.name, c.name) for t in self.schema.tables for c in t.columns
        ]
        self.column_vectors = encoder.encode([f"{_human(t)} {_human(c)}" for t, c in self.columns])
        self.table_vectors = encoder.encode([_human(t.name) for t in self.schema.tables])
        self.values: StoredValues = text_values(db, max_values)


def text_values(db: Database, max_values: int = 2000) -> StoredValues:
    """The distinct values of every text column (``max_values`` per column, each at most 60
    characters), keyed by their lower-cased text: what a question can name of the data."""
    values: StoredValues = {}
    quote = db.engine.dialect.identifier_preparer.quote
    with db.engine.connect() as conn:
        for t in db.schema().tables:
            for c in t.columns:
                if not _is_text(c):
                    continue
                rows = conn.execute(
                    sa.text(
                        f"SELECT DISTINCT {quote(c.name)} FROM {quote(t.name)} "
                        f"WHERE {quote(c.name)} IS NOT NULL LIMIT {int(max_values)}"
                    )
                ).fetchall()
                for (value,) in rows:
                    if isinstance(value, str) and 0 < len(value) <= 60:
                        key = _norm(value)
                        if key and key not in _STOP:
                            values.setdefault(key, []).append((t.name, c.name, value))
    return values


class SchemaLinker:
    """Links questions to one database's schema. Thread-safe; indexes are cached per URL."""

    def __init__(
        self,
        encoder: Encoder,
        *,
        max_tables: int = 4,
        max_columns: int = 12,
        min_table_score: float = 0.25,
        margin: float = 0.25,
    ) -> None:
        self.encoder = encoder
        self.max_tables = max_tables
        self.max_columns = max_columns
        self.min_table_score = min_table_score
        self.margin = margin
        self._indexes: dict[str, SchemaIndex] = {}
        self._lock = threading.Lock()

    def index(self, db: Database, refresh: bool = False) -> SchemaIndex:
        with self._lock:
            if refresh or db.url not in self._indexes:
                if refresh:
                    db.schema(refresh=True)
                self._indexes[db.url] = SchemaIndex(db, self.encoder)
            return self._indexes[db.url]

    def link(self, db: Database, question: str) -> LinkedSchema:
        idx = self.index(db)
        schema = idx.schema
        phrases = _phrases(question)
        vectors = self.encoder.encode([question, *phrases])
        q_vec, p_vecs = vectors[0], vectors[1:]
        # A column scores its best phrase, blended with the whole question.
        col_sim = idx.column_vectors @ p_vecs.T if len(phrases) else np.zeros((len(idx.columns), 1))
        col_scores = 0.7 * col_sim.max(axis=1) + 0.3 * (idx.column_vectors @ q_vec)
        tab_sim = (
            idx.table_vectors @ p_vecs.T if len(phrases) else np.zeros((len(schema.tables), 1))
        )
        column_scores = {
            f"{t}.{c}": float(s) for (t, c), s in zip(idx.columns, col_scores, strict=True)
        }

        # Tables rank by their names and their columns' names; values add tables after.
        table_scores: dict[str, float] = {}
        for i, t in enumerate(schema.tables):
            mine = sorted((column_scores[f"{t.name}.{c.name}"] for c in t.columns), reverse=True)
            table_scores[t.name] = max(float(tab_sim[i].max()), float(np.mean(mine[:2])))
        # A link table (only keys to other tables) comes in as a bridge, never on its name.
        ranked = sorted(
            (t.name for t in schema.tables if not _is_link_table(t)),
            key=lambda n: -table_scores[n],
        ) or [t.name for t in schema.tables]
        best = table_scores[ranked[0]]
        chosen = [
            n
            for n in ranked[: self.max_tables]
            if table_scores[n] >= max(self.min_table_score, best - self.margin)
        ] or ranked[:1]
        values = value_matches(question, idx.values)
        for v in values:
            column_scores[f"{v.table}.{v.column}"] = 1.0  # the data says so
            if v.table not in chosen:
                chosen.append(v.table)
        chosen = _add_bridges(schema, chosen)

        columns = {
            t: _pick_columns(schema.table(t), column_scores, self.max_columns, chosen)
            for t in chosen
        }
        return LinkedSchema(
            tables=chosen,
            columns=columns,
            table_scores=table_scores,
            column_scores=column_scores,
            values=[v for v in values if v.table in chosen],
            total_columns=len(idx.columns),
        )


def _pick_columns(
    table: TableInfo, scores: dict[str, float], limit: int, chosen: list[str]
) -> list[str]:
    """All columns of a narrow table; for a wide one the best-scored plus its keys."""
    if len(table.columns) <= limit:
        return [c.name for c in table.columns]
    keep = {c.name for c in table.columns if c.primary_key}
    keep |= {
        c.name for c in table.columns if c.foreign_key and c.foreign_key.partition("(")[0] in chosen
    }
    ranked = sorted(table.columns, key=lambda c: -scores[f"{table.name}.{c.name}"])
    for c in ranked:
        if len(keep) >= limit:
            break
        keep.add(c.name)
    return [c.name for c in table.columns if c.name in keep]


def _is_link_table(table: TableInfo) -> bool:
    return len(table.columns) >= 2 and all(c.foreign_key for c in table.columns)


def _add_bridges(schema: SchemaInfo, chosen: list[str]) -> list[str]:
    """Add tables that hold foreign keys to two chosen tables (many-to-many links)."""
    out = list(chosen)
    if len(chosen) < 2:
        return out
    wanted = {n.lower() for n in chosen}
    for t in schema.tables:
        if t.name in out:
            continue
        refs = {(c.foreign_key or "").partition("(")[0].lower() for c in t.columns}
        if len(refs & wanted) >= 2:
            out.append(t.name)
    return out


def value_matches(question: str, stored: StoredValues) -> list[ValueMatch]:
    """Stored values named in the question: quoted strings and word n-grams, case-insensitive,
    and adjectives of place names (``European`` -> ``Europe``, ``Chinese`` -> ``China``).
    Several values of one column are all kept (``'Brazil' and 'Ireland'``)."""
    candidates = [m.group(1) for m in _QUOTED.finditer(question)]
    words = [w.strip(".'") for w in _WORD.findall(question)]
    for n in (4, 3, 2, 1):
        candidates += [" ".join(words[i : i + n]) for i in range(len(words) - n + 1)]
    out: list[ValueMatch] = []
    seen: set[tuple[str, str, str]] = set()
    covered: set[str] = set()
    for phrase in candidates:
        key = _norm(phrase)
        if not key or key in _STOP or key in covered or (len(key) < 3 and not key.isdigit()):
            continue
        hits = stored.get(key) or [
            h for v in _variants(key) + number_variants(key) for h in stored.get(v, [])
        ]
        for table, column, value in hits:
            if (table, column, str(value)) in seen:
                continue
            seen.add((table, column, str(value)))
            covered |= set(key.split())
            out.append(ValueMatch(table, column, value, phrase))
    return out[:8]


def _variants(word: str) -> list[str]:
    """The place a demonym or adjective names: Asian, European, Chinese, Japanese."""
    if len(word) < 5 or " " in word:
        return []
    out = []
    if word.endswith("n"):
        out += [word[:-1], word[:-2]]
    if word.endswith("ese"):
        out += [word[:-3], word[:-3] + "a"]
    return [v for v in out if len(v) >= 4]


def number_variants(phrase: str) -> list[str]:
    """The phrase with its last word in the other number: "cheapest backpack" finds the
    category stored as ``backpacks``, "hiking boots" a product called "Hiking Boot"."""
    head, _, word = phrase.rpartition(" ")
    if len(word) < 3 or not word.isalpha():
        return []
    if word.endswith("ies"):
        forms = [word[:-3] + "y"]
    elif word.endswith(("ses", "xes", "ches", "shes")):
        forms = [word[:-2], word[:-1]]  # boxes, buses; uses, caches
    elif word.endswith("s") and not word.endswith("ss"):
        forms = [word[:-1]]
    elif word.endswith("y") and word[-2:-1] not in "aeiou":
        forms = [word[:-1] + "ies"]
    elif word.endswith(("s", "x", "ch", "sh")):
        forms = [word + "es"]
    else:
        forms = [word + "s"]
    return [f"{head} {f}" if head else f for f in forms if len(f) >= 3]


def _phrases(question: str) -> list[str]:
    words = [w.lower().strip(".'") for w in _WORD.findall(question)]
    content = [w for w in words if w and w not in _STOP]
    grams = set(content)
    for n in (2, 3):
        grams |= {" ".join(words[i : i + n]) for i in range(len(words) - n + 1)}
    return sorted(g for g in grams if g and g.split()[0] not in _STOP)


def _human(name: str) -> str:
    spaced = re.sub(r"(?<=[a-z])(?=[A-Z])", " ", name)
    return spaced.replace("_", " ").lower()


def _norm(text: str) -> str:
    return " ".join(text.lower().split())


def _is_text(c: ColumnInfo) -> bool:
    upper = c.type.upper()
    return any(k in upper for k in ("CHAR", "TEXT", "CLOB", "STRING")) or not upper


def _literal(value: Any) -> str:
    return "'" + str(value).replace("'", "''") + "'" if isinstance(value, str) else str(value)
