"""What the workspace holds, in a few lines the planner reads before it plans.

Expert descriptions are generic ("questions about records in the workspace's SQL
databases"); without knowing that this workspace has a concert database and no documents,
the ladder's planner sent "Which stadium has the highest capacity?" to document retrieval too
(benchmarks/planning.py). Naming each database with its tables and each document folder — or
saying there are none — lets it route by what is actually there.
"""

from __future__ import annotations

from pathlib import Path

from podium.experts.registry import ExpertRegistry
from podium.workspace import Workspace

MAX_TABLES = 24
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
        tables = f" (tables: {', '.join(names[:MAX_TABLES])}{more})"
    except Exception:  # an unreachable database is still a source the planner may name
        tables = " (tables unknown: the database could not be opened)"
    about = f": {description}" if description else ""
    return f"- database {name}{about}{tables}"


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
