"""The document store: files in, searchable chunks out.

    store = DocumentStore("sqlite:///ws/.podium/store.sqlite")
    store.ingest([Path("docs")])                    # add / update / skip unchanged
    hits = store.search("how long is the warranty?", k=5, where={"source": "*.md"})

Documents and chunks live in the SQL store (any SQLAlchemy URL); vectors live in a FAISS file
beside it (``index_dir``, default ``<store>.index/`` for SQLite). Ingestion runs at the
encoder's speed: documents are gathered into batches of ~``BATCH_CHUNKS`` chunks, each batch is
encoded in one call, written in one transaction (every document with all its chunks, or none of
them) and added to the index in one step. The index is compared with the database id by id
whenever the store sees the database change, so a crash mid-ingest costs at most the batch in
flight and the re-embedding of the chunks the index had not saved yet.
"""

from __future__ import annotations

import os
import threading
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import sqlalchemy as sa
from sqlalchemy.orm import Session

from podium.errors import ConfigError
from podium.tools.documents import (
    Chunk,
    DocumentRejected,
    ParsedDocument,
    Section,
    chunk_document,
    iter_documents,
    parse_file,
)

from ..engine import make_engine
from ..index import LexicalIndex, VectorIndex
from ..schema import migrate
from ..tables import ChunkRow, DocumentRow
from .search import Hit, SearchMixin

__all__ = ["Consistency", "DocumentStore", "Hit", "IngestReport", "for_workspace"]

Progress = Callable[[str, int, int], None]
# Chunks encoded, written and indexed together: large enough that the encoder's own batches
# stay full and the per-transaction cost vanishes, small enough that a crash loses little.
BATCH_CHUNKS = 512


@dataclass
class IngestReport:
    added: list[str] = field(default_factory=list)
    updated: list[str] = field(default_factory=list)
    unchanged: list[str] = field(default_factory=list)
    duplicates: dict[str, str] = field(default_factory=dict)
    deleted: list[str] = field(default_factory=list)
    errors: dict[str, str] = field(default_factory=dict)
    chunks: int = 0
    seconds: float = 0.0

    @property
    def chunks_per_s(self) -> float:
        return self.chunks / self.seconds if self.seconds else 0.0

    def as_dict(self) -> dict[str, Any]:
        return {
            "added": len(self.added),
            "updated": len(self.updated),
            "unchanged": len(self.unchanged),
            "duplicates": self.duplicates,
            "deleted": len(self.deleted),
            "errors": self.errors,
            "chunks": self.chunks,
            "seconds": round(self.seconds, 3),
            "chunks_per_s": round(self.chunks_per_s, 1),
        }


@dataclass
class _Prepared:
    doc: ParsedDocument
    chunks: list[Chunk]
    size: int
    mtime_ns: int
    meta: dict[str, Any]


class _Batch:
    """Documents waiting to be written together; progress is reported as each is written."""

    def __init__(
        self,
        store: DocumentStore,
        report: IngestReport,
        progress: Progress | None,
        total: int,
        max_chunks: int,
    ) -> None:
        self.store, self.report, self.progress = store, report, progress
        self.total, self.max_chunks = total, max(1, max_chunks)
        self.items: list[_Prepared] = []
        self.done: list[tuple[str, int]] = []  # (source, position) to report on flush
        self.hashes: dict[str, str] = {}
        self.chunks = 0

    def add(self, prepared: _Prepared | None, source: str, n: int) -> None:
        if prepared is not None and any(p.doc.source == prepared.doc.source for p in self.items):
            self.flush()  # the same source twice: the later version must win, so write in order
        if prepared is not None:
            twin = self.hashes.get(prepared.doc.content_hash)
            if twin is not None and twin != prepared.doc.source:  # a duplicate in this batch
                self.report.duplicates[prepared.doc.source] = twin
            else:
                self.hashes[prepared.doc.content_hash] = prepared.doc.source
                self.items.append(prepared)
                self.chunks += len(prepared.chunks)
        self.done.append((source, n))
        if self.chunks >= self.max_chunks:
            self.flush()

    def flush(self) -> None:
        if self.items:
            self.store._write_batch(self.items, self.report)
        if self.progress:
            for source, n in self.done:
                self.progress(source, n, self.total)
        self.items, self.done, self.hashes, self.chunks = [], [], {}, 0


@dataclass
class Consistency:
    chunks: int
    vectors: int
    missing: int  # chunks without a vector
    extra: int  # vectors without a chunk
    model: str
    index_model: str | None

    @property
    def ok(self) -> bool:
        return self.missing == 0 and self.extra == 0 and self.index_model in (None, self.model)


def default_index_dir(url: str) -> Path:
    """``<file>.index`` beside a SQLite store; other databases need an explicit folder."""
    parsed = sa.engine.make_url(url)
    if parsed.get_backend_name() == "sqlite" and parsed.database not in (None, "", ":memory:"):
        db = Path(parsed.database)
        return db.with_name(db.stem + ".index")
    raise ConfigError(
        f"the vector index for {parsed.render_as_string(hide_password=True)} needs a folder",
        hint="pass index_dir=... (a workspace uses its .podium/index folder)",
    )


class DocumentStore(SearchMixin):
    """Ingest, update, delete and search documents. Thread-safe; one per store per process is
    enough."""

    def __init__(
        self,
        url: str,
        *,
        index_dir: str | Path | None = None,
        embeddings: str = "local:minilm",
        collection: str = "default",
        exact_limit: int = 20_000,
        max_chars: int = 800,
        overlap: int = 150,
        reranker: str | None = None,
    ) -> None:
        self.url = url
        self.reranker_path = reranker or None
        self._reranker: Any = None
        self.engine = make_engine(url)
        migrate(self.engine)
        self.index_dir = Path(index_dir) if index_dir else default_index_dir(url)
        self.index_path = self.index_dir / "vectors.npz"
        self.embeddings = embeddings
        self.collection = collection
        self.exact_limit = exact_limit
        self.max_chars, self.overlap = max_chars, overlap
        self._lock = threading.RLock()
        self._vectors: VectorIndex | None = None
        self._lexical: LexicalIndex | None = None
        self._synced: tuple[int, int, int] | None = None
        self._lexical_at: tuple[int, int, int] | None = None
        self._embedder: Any = None
        self._last_save = 0.0
        self._save_seconds = 0.0
        self._dirty = False

    # -- models and indexes ---------------------------------------------------------------

    @property
    def embedder(self) -> Any:
        if self._embedder is None:
            from podium.models.embeddings import load_embedder

            self._embedder = load_embedder(self.embeddings)
        return self._embedder

    @property
    def reranker(self) -> Any:
        """The cross-encoder that reorders the top passages, when one is configured (none
        ships offline: give a sentence-transformers CrossEncoder folder by path)."""
        if self.reranker_path is None:
            return None
        if self._reranker is None:
            from podium.errors import ModelUnavailable

            path = Path(self.reranker_path).expanduser()
            if not path.is_dir():
                raise ModelUnavailable(
                    f"the reranker {self.reranker_path!r} is not a folder on this machine",
                    hint="give the path of a sentence-transformers CrossEncoder (e.g. a saved "
                    "ms-marco-MiniLM-L-6-v2), or leave models.reranker empty",
                )
            from sentence_transformers import CrossEncoder

            try:
                self._reranker = CrossEncoder(str(path), device="cpu")
            except Exception as exc:
                raise ModelUnavailable(
                    f"cannot load the reranker at {path}: {exc}",
                    hint="it must be a sentence-transformers CrossEncoder folder",
                ) from exc
        return self._reranker

    def _passage(self, title: str, text: str) -> str:
        return f"{title}: {text}" if title else text

    def _fingerprint(self, s: Session) -> tuple[int, int, int]:
        row = s.execute(
            sa.select(
                sa.func.count(ChunkRow.id), sa.func.max(ChunkRow.id), sa.func.sum(ChunkRow.id)
            )
        ).one()
        return int(row[0] or 0), int(row[1] or 0), int(row[2] or 0)

    def _vector_index(self) -> VectorIndex:
        if self._vectors is None:
            if self.index_path.is_file():
                self._vectors, meta = VectorIndex.load(
                    self.index_path, exact_limit=self.exact_limit
                )
                if meta.get("model") != self.embeddings:
                    raise ConfigError(
                        f"the index at {self.index_path} was built with {meta.get('model')!r}, "
                        f"this store embeds with {self.embeddings!r}",
                        hint="rebuild it: podium index rebuild",
                    )
            else:
                self._vectors = VectorIndex(self.embedder.dim, exact_limit=self.exact_limit)
        return self._vectors

    def check(self) -> Consistency:
        """Compare the chunks in the database with the vectors in the index file."""
        with self._lock, Session(self.engine) as s:
            db_ids = set(s.scalars(sa.select(ChunkRow.id)))
        meta: dict[str, Any] = {}
        ids: set[int] = set()
        if self.index_path.is_file():
            index, meta = VectorIndex.load(self.index_path)
            ids = index.ids
        return Consistency(
            chunks=len(db_ids),
            vectors=len(ids),
            missing=len(db_ids - ids),
            extra=len(ids - db_ids),
            model=self.embeddings,
            index_model=meta.get("model"),
        )

    def sync(self, force: bool = False) -> dict[str, int]:
        """Make the index match the database: embed missing chunks, drop vectors of deleted
        ones. Cheap when nothing changed (one aggregate query)."""
        with self._lock, Session(self.engine) as s:
            fingerprint = self._fingerprint(s)
            if fingerprint == self._synced and not force:
                return {"added": 0, "removed": 0}
            index = self._vector_index()
            db_ids = set(s.scalars(sa.select(ChunkRow.id)))
            extra = index.ids - db_ids
            missing = sorted(db_ids - index.ids)
            index.remove(extra)
            for start in range(0, len(missing), 512):
                batch = missing[start : start + 512]
                rows = s.execute(
                    sa.select(ChunkRow.id, ChunkRow.title, ChunkRow.text).where(
                        ChunkRow.id.in_(batch)
                    )
                ).all()
                vectors = self.embedder.encode([self._passage(r.title, r.text) for r in rows])
                index.add([r.id for r in rows], vectors)
            if extra or missing or not self.index_path.is_file():
                self._save(force=True)
            self._synced = fingerprint
            return {"added": len(missing), "removed": len(extra)}

    def rebuild(self) -> dict[str, Any]:
        """Re-embed every chunk into a new index (after a model change or a damaged file)."""
        with self._lock:
            self._vectors = VectorIndex(self.embedder.dim, exact_limit=self.exact_limit)
            self._synced = None
            counts = self.sync(force=True)
            self._save(force=True)
            return {**counts, **self.stats()}

    def _save(self, force: bool = False) -> None:
        if self._vectors is None:
            return
        # Between forced saves, wait at least 10x the last save's duration: a crash costs only
        # re-embedding (sync), while saving a large index after every batch would dominate.
        waited = time.monotonic() - self._last_save
        if force or (self._dirty and waited > max(2.0, 10 * self._save_seconds)):
            t0 = time.monotonic()
            self._vectors.save(self.index_path, {"model": self.embeddings})
            self._last_save = time.monotonic()
            self._save_seconds = self._last_save - t0
            self._dirty = False

    def stats(self) -> dict[str, Any]:
        with Session(self.engine) as s:
            docs = s.scalar(sa.select(sa.func.count(DocumentRow.id))) or 0
            chunks = s.scalar(sa.select(sa.func.count(ChunkRow.id))) or 0
        index = self._vector_index()
        return {
            "documents": docs,
            "chunks": chunks,
            "vectors": len(index),
            "index": dict(index.info),
            "index_bytes": index.memory_bytes(),
            "index_path": str(self.index_path),
        }

    # -- ingestion ------------------------------------------------------------------------

    def ingest(
        self,
        paths: Iterable[str | Path],
        *,
        prune: bool = False,
        progress: Progress | None = None,
        batch_chunks: int = BATCH_CHUNKS,
    ) -> IngestReport:
        """Add new files, update changed ones, skip unchanged ones (by size and mtime, then
        content hash); with ``prune``, delete documents under ``paths`` whose files are gone.
        A bad file is reported in ``errors`` and does not stop the others. Files are written
        in batches of about ``batch_chunks`` chunks (see :meth:`_write_batch`)."""
        started = time.perf_counter()
        roots = [Path(p).expanduser().resolve() for p in paths]
        files = iter_documents(roots)
        report = IngestReport()
        with self._lock:
            self.sync()
            batch = _Batch(self, report, progress, len(files), batch_chunks)
            for n, path in enumerate(files, start=1):
                source = str(path)
                try:
                    prepared = self._read_file(path, source, report)
                except DocumentRejected as exc:
                    report.errors[source] = exc.message
                    prepared = None
                batch.add(prepared, source, n)
            batch.flush()
            if prune:
                seen = {str(f) for f in files}
                for source in self.sources():
                    under = any(
                        source == str(r) or source.startswith(f"{r}{os.sep}") for r in roots
                    )
                    if under and source not in seen:
                        self.remove(source)
                        report.deleted.append(source)
            self._save(force=True)
        report.seconds = time.perf_counter() - started
        return report

    def _read_file(self, path: Path, source: str, report: IngestReport) -> _Prepared | None:
        stat = path.stat()
        with Session(self.engine) as s:
            existing = s.scalar(self._doc_query(source))
            if existing and (existing.size, existing.mtime_ns) == (stat.st_size, stat.st_mtime_ns):
                report.unchanged.append(source)
                return None
        doc = parse_file(path, source=source)
        return self._prepare(doc, report, size=stat.st_size, mtime_ns=stat.st_mtime_ns)

    def add_texts(
        self,
        records: Iterable[dict[str, Any]],
        *,
        progress: Progress | None = None,
        batch_chunks: int = BATCH_CHUNKS,
    ) -> IngestReport:
        """Ingest documents given as ``{"source", "text", "title"?, "meta"?}`` dicts (no file);
        a record whose text is unchanged is skipped. Records are written in batches of about
        ``batch_chunks`` chunks: one encoder call, one transaction, one index update each."""
        from podium.tools.documents import parse_markdown, text_hash

        started = time.perf_counter()
        report = IngestReport()
        items = list(records)
        with self._lock:
            self.sync()
            batch = _Batch(self, report, progress, len(items), batch_chunks)
            for n, rec in enumerate(items, start=1):
                source = str(rec.get("source"))
                text = str(rec.get("text") or "")
                if not text.strip():
                    report.errors[source] = "empty text"
                    batch.add(None, source, n)
                    continue
                title = str(rec.get("title") or "")
                doc = ParsedDocument(
                    source=str(rec["source"]),
                    title=title,
                    sections=[
                        Section(text=s.text, heading=s.heading or title)
                        for s in parse_markdown(text)
                    ],
                    content_hash=text_hash(f"{title}\0{text}"),
                    kind="record",
                )
                batch.add(self._prepare(doc, report, meta=rec.get("meta") or {}), source, n)
            batch.flush()
            self._save(force=True)
        report.seconds = time.perf_counter() - started
        return report

    def _doc_query(self, source: str) -> Any:
        return sa.select(DocumentRow).where(
            DocumentRow.collection == self.collection, DocumentRow.source == source
        )

    def _prepare(
        self,
        doc: ParsedDocument,
        report: IngestReport,
        *,
        size: int = 0,
        mtime_ns: int = 0,
        meta: dict[str, Any] | None = None,
    ) -> _Prepared | None:
        """Chunks to write, or None when the document is unchanged or a duplicate."""
        with Session(self.engine) as s:
            existing = s.scalar(self._doc_query(doc.source))
            if existing is not None and existing.content_hash == doc.content_hash:
                existing.size, existing.mtime_ns = size, mtime_ns
                s.commit()
                report.unchanged.append(doc.source)
                return None
            twin = s.scalar(
                sa.select(DocumentRow.source).where(
                    DocumentRow.collection == self.collection,
                    DocumentRow.content_hash == doc.content_hash,
                    DocumentRow.source != doc.source,
                )
            )
        if twin is not None:
            report.duplicates[doc.source] = twin
            return None
        chunks = chunk_document(doc, max_chars=self.max_chars, overlap=self.overlap)
        return _Prepared(doc, chunks, size, mtime_ns, meta or {})

    def _write_batch(self, batch: list[_Prepared], report: IngestReport) -> None:
        """Encode the chunks of ``batch`` in one call, write every document of it in one
        transaction (all of them with all their chunks, or nothing), then update the vector
        index once. A crash before the commit loses the batch, never part of a document; a
        crash after it loses at most vectors, which ``sync`` re-embeds on the next open."""
        texts = [self._passage(c.title, c.text) for p in batch for c in p.chunks]
        vectors = self.embedder.encode(texts)
        now = time.time()
        old_ids: list[int] = []
        new_ids: list[int] = []
        with Session(self.engine) as s, s.begin():
            rows = {
                r.source: r
                for r in s.scalars(
                    sa.select(DocumentRow).where(
                        DocumentRow.collection == self.collection,
                        DocumentRow.source.in_([p.doc.source for p in batch]),
                    )
                )
            }
            if rows:
                ids = [r.id for r in rows.values()]
                old_ids = list(
                    s.scalars(sa.select(ChunkRow.id).where(ChunkRow.document_id.in_(ids)))
                )
                s.execute(sa.delete(ChunkRow).where(ChunkRow.document_id.in_(ids)))
            chunk_rows: list[ChunkRow] = []
            for prepared in batch:
                doc, chunks = prepared.doc, prepared.chunks
                row = rows.get(doc.source)
                if row is None:
                    row = DocumentRow(collection=self.collection, source=doc.source, created_at=now)
                    s.add(row)
                    report.added.append(doc.source)
                else:
                    report.updated.append(doc.source)
                row.title, row.kind, row.content_hash = doc.title[:500], doc.kind, doc.content_hash
                row.size, row.mtime_ns, row.n_chunks = prepared.size, prepared.mtime_ns, len(chunks)
                row.meta, row.updated_at = prepared.meta, now
                s.flush()
                chunk_rows.extend(
                    ChunkRow(
                        document_id=row.id,
                        ordinal=i,
                        text=c.text,
                        title=c.title[:1000],
                        page=c.page,
                        content_hash=c.content_hash,
                    )
                    for i, c in enumerate(chunks)
                )
            s.add_all(chunk_rows)
            s.flush()
            new_ids = [c.id for c in chunk_rows]
        index = self._vector_index()
        index.remove(old_ids)
        index.add(new_ids, vectors)
        with Session(self.engine) as s:
            self._synced = self._fingerprint(s)
        report.chunks += len(new_ids)
        self._dirty = True
        self._save()

    def remove(self, source: str) -> bool:
        """Delete a document and its chunks and vectors; False when there was none."""
        source = _as_source(source)
        with self._lock:
            with Session(self.engine) as s, s.begin():
                row = s.scalar(self._doc_query(source))
                if row is None:
                    return False
                ids = list(s.scalars(sa.select(ChunkRow.id).where(ChunkRow.document_id == row.id)))
                s.execute(sa.delete(ChunkRow).where(ChunkRow.document_id == row.id))
                s.delete(row)
            self._vector_index().remove(ids)
            with Session(self.engine) as s:
                self._synced = self._fingerprint(s)
            self._save(force=True)
            return True

    def sources(self) -> list[str]:
        with Session(self.engine) as s:
            return list(
                s.scalars(
                    sa.select(DocumentRow.source)
                    .where(DocumentRow.collection == self.collection)
                    .order_by(DocumentRow.source)
                )
            )

    def chunks(self, source: str) -> list[Chunk]:
        with Session(self.engine) as s:
            rows = s.execute(
                sa.select(ChunkRow)
                .join(DocumentRow)
                .where(DocumentRow.collection == self.collection, DocumentRow.source == source)
                .order_by(ChunkRow.ordinal)
            ).scalars()
            return [Chunk(text=r.text, source=source, title=r.title, page=r.page) for r in rows]

    def close(self) -> None:
        with self._lock:
            if self._dirty:
                self._save(force=True)
        self.engine.dispose()


def _as_source(source: str) -> str:
    p = Path(source).expanduser()
    return str(p.resolve()) if p.exists() else source


_WORKSPACE_STORES: dict[tuple[str, str], DocumentStore] = {}
_WS_LOCK = threading.Lock()


def for_workspace(workspace: Any, embeddings: str | None = None) -> DocumentStore:
    """The document store of a workspace (its store URL, index in ``.podium/index``); one per
    workspace and encoder per process."""
    embeddings = (
        embeddings or getattr(workspace.config.models, "embeddings", None) or "local:minilm"
    )
    reranker = getattr(workspace.config.models, "reranker", "") or None
    key = (workspace.store_url, embeddings, reranker)
    with _WS_LOCK:
        if key not in _WORKSPACE_STORES:
            index_dir = (
                workspace.data_dir / "index" / embeddings.replace(":", "_").replace("/", "_")
            )
            _WORKSPACE_STORES[key] = DocumentStore(
                workspace.store_url, index_dir=index_dir, embeddings=embeddings, reranker=reranker
            )
        return _WORKSPACE_STORES[key]
