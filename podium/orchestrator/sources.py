"""What the workspace holds, in a few lines the planner reads before it plans.

Expert descriptions are generic ("questions about records in the workspace's SQL
databases"); without knowing that this workspace has a concert database and no documents,
the ladder's planner sent "Which stadium has the highest capacity?" to document retrieval too
(benchmarks/planning.py). Naming each database with its tables and each document folder — or
saying there are none — lets it route by what is actually there.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass
from functools import cached_property
from pathlib import Path

from pydantic import BaseModel

from podium.experts.nl2sql.linking import StoredValues, text_values, value_matches
from podium.experts.registry import ExpertRegistry
from podium.tools.sql.tables import ColumnInfo
from podium.workspace import Workspace

MAX_TABLES = 24
# Up to this many columns in all, each table is shown with its columns: told only the table
# names, the 1.5B planner sent "What is the cheapest backpack?" to the documents; the word
# "price" among the products' columns says where prices are.
MAX_COLUMNS = 80
DOCUMENT_SUFFIXES = {".md", ".txt", ".rst", ".html", ".htm", ".pdf"}


def describe_sources(workspace: Workspace | None) -> str:
    """One line per database (name, description, tables) and per document folder."""
    if workspace is None:
        return ""
    lines = [
        _database_line(workspace, db.name, db.url, db.description)
        for db in workspace.config.databases
    ]
    if not lines:
        lines.append("- no SQL database")
    docs = [
        _documents_line(path, spec.description)
        for path, spec in zip(workspace.document_paths(), workspace.config.documents, strict=True)
    ]
    lines.extend(docs or ["- no documents"])
    return "\n".join(lines)


def _database_line(workspace: Workspace, name: str, url: str, description: str) -> str:
    from podium.tools.sql import open_database

    tables = ""
    try:
        schema = open_database(workspace.resolve_url(url)).schema()
        names = [t.name for t in schema.tables]
        more = f", … ({len(names)} in all)" if len(names) > MAX_TABLES else ""
        shown = [c.name for t in schema.tables for c in t.columns]
        if len(names) <= MAX_TABLES and len(shown) <= MAX_COLUMNS:
            names = [f"{t.name} ({', '.join(_columns(t.columns))})" for t in schema.tables]
        tables = f" (tables: {', '.join(names[:MAX_TABLES])}{more})"
    except Exception:  # an unreachable database is still a source the planner may name
        tables = " (tables unknown: the database could not be opened)"
    about = f": {description}" if description else ""
    return f"- database {name}{about}{tables}"


def _columns(columns: Sequence[ColumnInfo]) -> list[str]:
    """A table's columns as the planner reads them: without its primary key."""
    return [c.name for c in columns if not c.primary_key] or [c.name for c in columns]


def _documents_line(path: Path, description: str) -> str:
    files = (
        sum(1 for p in path.rglob("*") if p.suffix.lower() in DOCUMENT_SUFFIXES)
        if path.is_dir()
        else int(path.is_file())
    )
    about = f": {description}" if description else ""
    return f"- documents {path.name}{about} ({files} files)"


def offered_experts(registry: ExpertRegistry, workspace: Workspace | None) -> ExpertRegistry:
    """The experts the planner may use here: one that ``needs`` a database or documents is
    left out when the workspace has none (measured: told "no documents", the 1.5B planner
    still sent database questions to retrieval)."""
    if workspace is None:
        return registry
    has = {
        "database": bool(workspace.config.databases),
        "documents": any(p.exists() for p in workspace.document_paths()),
    }
    kept = [e for e in registry if has.get(getattr(e, "needs", None) or "", True)]
    return registry if len(kept) == len(registry) or not kept else ExpertRegistry(kept)


# -- which database a step asks ---------------------------------------------------------------


@dataclass(frozen=True)
class DatabaseCard:
    """What a question may name of one database: its name, description, tables, columns
    and a few of their values; ``stored`` has every short text value (see ``text_values``)."""

    name: str
    words: frozenset[str]
    values: frozenset[str]
    text: str
    url: str = ""  # resolved; empty when the database could not be opened

    @cached_property
    def stored(self) -> StoredValues:
        """Read on first use only (the router's close calls): a scan of every text column,
        which the cards' other use, choosing the database a step asks, does not need."""
        from podium.tools.sql import open_database

        try:
            return text_values(open_database(self.url)) if self.url else {}
        except Exception:  # the values are evidence; an unreadable database gives none
            return {}

    @cached_property
    def distinct_counts(self) -> dict[tuple[str, str], int]:
        """How many distinct values of each text column ``stored`` holds."""
        counts: dict[tuple[str, str], int] = {}
        for hits in self.stored.values():
            for table, column, _ in hits:
                counts[table, column] = counts.get((table, column), 0) + 1
        return counts


def database_cards(workspace: Workspace | None) -> list[DatabaseCard]:
    """One card per database of the workspace (an unreachable one has only its name)."""
    from podium.tools.sql import open_database

    cards = []
    for db in workspace.config.databases if workspace else []:
        names = [db.name, db.description]
        values: list[str] = []
        try:
            url = workspace.resolve_url(db.url)  # type: ignore[union-attr]
            schema = open_database(url).schema()
        except Exception:
            schema, url = None, ""
        for table in schema.tables if schema else []:
            names.append(table.name)
            for col in table.columns:
                names.append(col.name)
                values += [str(v) for v in col.samples if isinstance(v, str) and len(v) < 40]
        text = " ".join(names)
        sampled = frozenset(_stems(" ".join(values)))
        cards.append(DatabaseCard(db.name, frozenset(_stems(text)), sampled, text, url))
    return cards


# A text column with at least this many distinct values names records (products, customers,
# cities); one with fewer names classes of them (a category, a segment, a status), which the
# documents may talk about as well ("What do gold members get?").
RECORD_VALUES = 20


@dataclass(frozen=True)
class NamedValue:
    """A stored value a text names, and whether it names a record rather than a class."""

    value: str
    table: str
    column: str
    names_record: bool

    def __str__(self) -> str:
        return f"{self.value!r} ({self.table}.{self.column})"


def stored_values_named(text: str, cards: Sequence[DatabaseCard]) -> list[NamedValue]:
    """The values of the workspace's databases that ``text`` names: evidence that a request
    is about the database's records."""
    found: list[NamedValue] = []
    for card in cards:
        for match in value_matches(text, card.stored):
            distinct = card.distinct_counts.get((match.table, match.column), 0)
            found.append(
                NamedValue(str(match.value), match.table, match.column, distinct >= RECORD_VALUES)
            )
    return found


def pick_database(question: str, cards: list[DatabaseCard]) -> tuple[str, str] | None:
    """The database a question is about, and why: the one whose tables, columns and
    description share the most words with it (a sampled value counts half). ``None`` when
    there is no choice to make or no database shares a word."""
    if len(cards) < 2:
        return None
    asked = _stems(question)
    scored = []
    for card in cards:
        named = sorted(asked & card.words)
        valued = sorted((asked & card.values) - card.words)
        scored.append((len(named) + 0.5 * len(valued), card.name, named + valued))
    scored.sort(key=lambda s: -s[0])
    best, runner_up = scored[0], scored[1]
    if best[0] == 0 or best[0] == runner_up[0]:
        return None
    return best[1], f"it names {', '.join(best[2][:4])}"


_WORD = re.compile(r"[a-z][a-z0-9]+")
_COMMON = frozenset(
    "the and for with from what which who how many much are was were does did have has that "
    "this these those their there where when into each per all any number count total list "
    "show give tell name names average sum most least many id ids".split()
)


def _stems(text: str) -> set[str]:
    """Lower-case words, split at underscores and camel case, crudely singular."""
    spaced = re.sub(r"([a-z])([A-Z])", r"\1 \2", text).replace("_", " ").lower()
    out = set()
    for w in _WORD.findall(spaced):
        if w in _COMMON or len(w) < 3:
            continue
        out.add(w[:-3] + "y" if w.endswith("ies") else w[:-1] if w.endswith("s") else w)
    return out


def with_database(
    request: BaseModel, question: str, cards: list[DatabaseCard]
) -> tuple[BaseModel, dict[str, str] | None]:
    """A request that may name a database (a ``database`` field) but does not, sent to the
    one its question is about; with the note that says which and why (``None``: unchanged).
    Without this every such step asked the workspace's first database."""
    if getattr(request, "database", "") is not None or "database" not in type(request).model_fields:
        return request, None
    picked = pick_database(question, cards)
    if picked is None:
        return request, None
    name, why = picked
    return request.model_copy(update={"database": name}), {"database": name, "why": why}
