"""The workspace from the page: registered experts, databases to connect, documents to upload,
and the documents an answer cites, to read (``GET /api/documents/view?source=PATH``).

No secret leaves the server: database URLs are shown with their passwords hidden, and only
files inside the workspace's document folders are ever served.
"""

from __future__ import annotations

import asyncio
import dataclasses
import re
import statistics
from pathlib import Path
from typing import Any

import sqlalchemy as sa
from fastapi import APIRouter, Query, Request, UploadFile
from fastapi.responses import FileResponse
from sqlalchemy.orm import Session

from podium.errors import ConfigError, InputRejected, PodiumError
from podium.memory.tables import RunRow, StepRow
from podium.tools.documents import PDF_SUFFIXES, SUPPORTED_SUFFIXES
from podium.tools.sql.database import redact_url
from podium.workspace import DatabaseSpec, DocumentsSpec, Workspace

from .databases import DatabasePolicy, allow, probe
from .schemas import DatabaseConnect

router = APIRouter(prefix="/api", tags=["workspace"])
UPLOAD_DIR = "uploads"


class UnsupportedMedia(InputRejected):
    http_status = 415


class TooLarge(InputRejected):
    http_status = 413


class Conflict(InputRejected):
    http_status = 409


class NotFound(InputRejected):
    http_status = 404


def safe_url(url: str) -> str:
    return redact_url(url)


@router.get("/experts")
async def experts(request: Request) -> dict[str, Any]:
    """Each registered expert with its recent latency (median of its last 20 good steps)."""
    podium = request.app.state.hub.podium
    latency: dict[str, list[float]] = {}
    if podium.store:
        with Session(podium.store.engine) as s:
            rows = s.execute(
                sa.select(StepRow.expert, StepRow.ms)
                .join(RunRow, RunRow.id == StepRow.run_id)
                .where(StepRow.status == "ok")
                .order_by(RunRow.created_at.desc())
                .limit(2000)
            ).all()
        for expert_name, ms in rows:
            bucket = latency.setdefault(expert_name, [])
            if len(bucket) < 20:
                bucket.append(ms)
    cards = []
    for exp in podium.registry:
        recent = latency.get(exp.name) or []
        cards.append(
            {
                **exp.card(),
                "origin": podium.registry.origin(exp.name),
                "recent_ms": round(statistics.median(recent), 1) if recent else None,
                "recent_calls": len(recent),
            }
        )
    problems = [p.__dict__ for p in podium.registry.problems]
    return {"experts": cards, "problems": problems}


@router.get("/workspace")
async def workspace(request: Request) -> dict[str, Any]:
    """The databases (with their tables and row counts) and the document folders (with
    their files) the planner can use."""
    ws = request.app.state.hub.podium.workspace
    databases = await asyncio.to_thread(
        lambda: [
            {
                "name": d.name,
                "url": safe_url(d.url),
                "description": d.description,
                "tables": _tables(ws, d.url),
            }
            for d in ws.config.databases
        ]
    )
    return {
        "name": ws.name,
        "databases": databases,
        "documents": [
            {
                "path": d.path,
                "description": d.description,
                "files": _files(p),
                "uploads": p == (ws.root / UPLOAD_DIR).resolve(),
            }
            for d, p in zip(ws.config.documents, ws.document_paths(), strict=True)
        ],
        "upload_suffixes": sorted(SUPPORTED_SUFFIXES),
        "max_upload_bytes": request.app.state.limits.max_upload_bytes,
    }


@router.get("/databases")
async def databases(request: Request) -> dict[str, Any]:
    """The databases by name, first the one a step asks when it names none (cheap: unlike
    ``GET /api/workspace`` nothing is opened or counted)."""
    ws = request.app.state.hub.podium.workspace
    return {
        "databases": [{"name": d.name, "description": d.description} for d in ws.config.databases]
    }


def _changed(request: Request) -> None:
    """The planner, the router and the database choice read the workspace again."""
    request.app.state.hub.podium.context.workspace_changed()


@router.delete("/databases/{name}", status_code=204)
async def remove_database(name: str, request: Request) -> None:
    """Disconnect a database (its file is left alone)."""
    ws = request.app.state.hub.podium.workspace
    if not any(d.name == name for d in ws.config.databases):
        raise NotFound(f"no database named {name!r}", hint="see GET /api/workspace")
    ws.config.databases = [d for d in ws.config.databases if d.name != name]
    await asyncio.to_thread(ws.save)
    _changed(request)


@router.delete("/documents/{name}", status_code=204)
async def remove_document(name: str, request: Request) -> None:
    """Delete an uploaded document (the workspace's own folders are edited in podium.toml)."""
    ws = request.app.state.hub.podium.workspace
    folder = (ws.root / UPLOAD_DIR).resolve()
    path = (folder / _safe_name(name)).resolve()
    if path.parent != folder or not path.is_file():
        raise NotFound(f"no uploaded document {name!r}", hint="see GET /api/workspace")
    await asyncio.to_thread(path.unlink)
    _changed(request)


@router.get("/documents/view")
async def view_document(
    request: Request,
    source: str = Query(
        min_length=1,
        max_length=4096,
        description="The document as a passage names it (its ``source``): a path, absolute "
        "or relative to the workspace.",
    ),
) -> FileResponse:
    """One workspace document, to read (read-only). Text, Markdown and HTML come as plain
    text (a document is shown, never run as a page of this site); PDF as PDF."""
    ws = request.app.state.hub.podium.workspace
    path = await asyncio.to_thread(document_file, ws, source)
    kind = "application/pdf" if path.suffix.lower() in PDF_SUFFIXES else "text/plain"
    return FileResponse(
        path,
        media_type=kind + ("; charset=utf-8" if kind == "text/plain" else ""),
        content_disposition_type="inline",
        filename=path.name,
        headers={"Cache-Control": "no-cache"},
    )


def document_file(ws: Workspace, source: str) -> Path:
    """The file ``source`` names, if it is a document inside one of the workspace's document
    folders (after ``..`` and symbolic links are resolved; no hidden files); else NotFound,
    the same for a file that is missing and one that is not the workspace's to show."""
    missing = NotFound(
        f"no document {source!r} in this workspace's document folders",
        hint="a source link names a file inside the folders listed by GET /api/workspace",
    )
    if "\x00" in source:
        raise missing
    given = Path(source)
    try:
        path = (given if given.is_absolute() else ws.root / given).resolve(strict=True)
    except (OSError, RuntimeError):
        raise missing from None
    for folder in ws.document_paths():
        try:
            folder = folder.resolve(strict=True)
        except (OSError, RuntimeError):
            continue
        inside = path == folder or (
            path.is_relative_to(folder)
            and not any(part.startswith(".") for part in path.relative_to(folder).parts)
        )
        if inside and path.is_file() and path.suffix.lower() in SUPPORTED_SUFFIXES:
            return path
    raise missing


@router.post("/databases", status_code=201)
async def connect_database(body: DatabaseConnect, request: Request) -> dict[str, Any]:
    """Check the URL against the allow-list, probe it read-only off the event loop, then add
    it to the workspace's ``podium.toml`` (see :mod:`podium.server.databases`)."""
    ws = request.app.state.hub.podium.workspace
    if any(d.name == body.name for d in ws.config.databases):
        raise Conflict(f"the workspace already has a database named {body.name!r}")
    policy: DatabasePolicy = request.app.state.db_policy
    server = request.scope.get("server") or ("", 0)
    own = {int(server[1] or 0), *(policy.own_ports or ())}
    policy = dataclasses.replace(policy, own_ports=own)
    allowed = allow(body.url, ws, policy)
    tables = await probe(body.url, allowed, policy)
    ws.config.databases.append(
        DatabaseSpec(name=body.name, url=allowed.saved_url, description=body.description)
    )
    await asyncio.to_thread(ws.save)
    _changed(request)
    return {"name": body.name, "url": safe_url(allowed.saved_url), "tables": tables}


@router.post("/documents", status_code=201)
async def upload_document(file: UploadFile, request: Request) -> dict[str, Any]:
    """Add a document (Markdown, plain text, reStructuredText, HTML or PDF) to the workspace."""
    ws = request.app.state.hub.podium.workspace
    limit = request.app.state.limits.max_upload_bytes
    name = _safe_name(file.filename or "")
    suffix = ("." + name.rsplit(".", 1)[-1].lower()) if "." in name else ""
    if suffix not in SUPPORTED_SUFFIXES:
        raise UnsupportedMedia(
            f"{file.filename!r} is not a document Podium can read",
            hint=f"upload one of: {', '.join(sorted(SUPPORTED_SUFFIXES))}",
        )
    data = await file.read(limit + 1)
    if len(data) > limit:
        raise TooLarge(f"{name} is over the upload limit of {limit:,} bytes")
    if suffix in PDF_SUFFIXES:
        if not data.startswith(b"%PDF-"):
            raise UnsupportedMedia(f"{name} is not a PDF file", hint="upload the PDF itself")
    elif b"\x00" in data:
        raise UnsupportedMedia(f"{name} is binary, not text", hint="upload a text document")
    else:
        try:
            data.decode("utf-8")
        except UnicodeDecodeError as exc:
            raise UnsupportedMedia(
                f"{name} is not UTF-8 text (byte {exc.start})", hint="save it as UTF-8"
            ) from exc
    folder = ws.root / UPLOAD_DIR
    try:
        await asyncio.to_thread(_write_new, folder, name, data)
    except FileExistsError:
        raise Conflict(
            f"{UPLOAD_DIR}/{name} already exists; it was not replaced",
            hint="rename the file, or delete the old one from the workspace folder first",
        ) from None
    if not any(p == folder.resolve() for p in ws.document_paths()):
        ws.config.documents.append(DocumentsSpec(path=UPLOAD_DIR))
        try:
            await asyncio.to_thread(ws.save)
        except OSError as exc:
            raise ConfigError(f"could not update {ws.root / 'podium.toml'}: {exc}") from exc
    _changed(request)
    return {"name": name, "bytes": len(data), "folder": UPLOAD_DIR}


MAX_NAME_CHARS = 120


def _safe_name(filename: str) -> str:
    """The file's own name: no folders, no hidden dot, only word characters, ``.`` and ``-``,
    at most ``MAX_NAME_CHARS`` (a long stem is cut, its suffix kept)."""
    name = re.sub(r"[^\w.-]", "_", filename.replace("\\", "/").rsplit("/", 1)[-1]).lstrip(".")
    if len(name) > MAX_NAME_CHARS:
        stem, dot, suffix = name.rpartition(".")
        suffix = suffix[:16] if dot else ""
        stem = stem if dot else name
        name = stem[: MAX_NAME_CHARS - len(suffix) - 1] + (dot + suffix if dot else "")
    return name


def _write_new(folder: Any, name: str, data: bytes) -> None:
    """Create the file; never replace one (``x`` mode fails if it exists, atomically)."""
    folder.mkdir(exist_ok=True)
    with open(folder / name, "xb") as out:
        out.write(data)


def _files(path: Any) -> list[str]:
    from podium.tools.documents import iter_text_files

    try:
        return [p.name for p in iter_text_files([path], SUPPORTED_SUFFIXES)]
    except (OSError, PodiumError):
        return []


def _tables(ws: Any, url: str) -> list[dict[str, Any]]:
    """Each table with its row count (an unreachable database lists none)."""
    from podium.tools.sql import open_database

    try:
        db = open_database(ws.resolve_url(url))
        names = [t.name for t in db.schema().tables]
        with db.engine.connect() as conn:
            return [
                {
                    "name": n,
                    "rows": conn.execute(
                        sa.select(sa.func.count()).select_from(sa.table(n))
                    ).scalar_one(),
                }
                for n in names
            ]
    except Exception:  # listing is a courtesy: a broken database shows without tables
        return []
