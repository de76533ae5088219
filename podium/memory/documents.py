"""The document store: files in, searchable chunks out.

    store = DocumentStore("sqlite:///ws/.podium/store.sqlite")
    store.ingest([Path("docs")])                    # add / update / skip unchanged
    hits = store.search("how long is the warranty?", k=5, where={"source": "*.md"})

Documents and chunks live in the SQL store (any SQLAlchemy URL); vectors live in a FAISS file
beside it (``index_dir``, default ``<store>.index/`` for SQLite). Each document is written in one
transaction (its row and all its chunks, or nothing), and the index is compared with the
database id by id whenever the store sees the database change, so a crash mid-ingest costs at
most the re-embedding of the chunks the index had not saved yet.
"""

from __future__ import annotations

import fnmatch
import os
import threading
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import sqlalchemy as sa
from sqlalchemy.orm import Session

from podium.errors import ConfigError, InputRejected
from podium.tools.documents import (
    Chunk,
    DocumentRejected,
    ParsedDocument,
    Section,
    chunk_document,
    iter_documents,
    parse_file,
)

from .index import LexicalIndex, VectorIndex, reciprocal_rank_fusion
from .schema import migrate
from .store import make_engine
from .tables import ChunkRow, DocumentRow

Progress = Callable[[str, int, int], None]
SEARCH_MODES = ("hybrid", "dense", "bm25")
# Weights of the hybrid's reciprocal rank fusion, chosen on the dev half of the Climate-FEVER
# retrieval slice (see podium/memory/evaluation.py); k is the usual 60.
HYBRID_WEIGHTS = {"dense": 1.0, "bm25": 0.5}
HYBRID_K = 60
CANDIDATES = 100


@dataclass
class Hit:
    chunk_id: int
    text: str
    source: str
    title: str
    page: int | None
    score: float
    document_title: str = ""
    scores: dict[str, float] = field(default_factory=dict)
    ranks: dict[str, int] = field(default_factory=dict)


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


class DocumentStore:
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
    ) -> None:
        self.url = url
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
        self._dirty = False

    # -- models and indexes ---------------------------------------------------------------

    @property
    def embedder(self) -> Any:
        if self._embedder is None:
            from podium.models.embeddings import load_embedder

            self._embedder = load_embedder(self.embeddings)
        return self._embedder

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
        if force or (self._dirty and time.monotonic() - self._last_save > 2.0):
            self._vectors.save(self.index_path, {"model": self.embeddings})
            self._last_save = time.monotonic()
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
    ) -> IngestReport:
        """Add new files, update changed ones, skip unchanged ones (by size and mtime, then
        content hash); with ``prune``, delete documents under ``paths`` whose files are gone.
        A bad file is reported in ``errors`` and does not stop the others."""
        started = time.perf_counter()
        roots = [Path(p).expanduser().resolve() for p in paths]
        files = iter_documents(roots)
        report = IngestReport()
        with self._lock:
            self.sync()
            for n, path in enumerate(files, start=1):
                source = str(path)
                try:
                    self._ingest_file(path, source, report)
                except DocumentRejected as exc:
                    report.errors[source] = exc.message
                if progress:
                    progress(source, n, len(files))
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

    def _ingest_file(self, path: Path, source: str, report: IngestReport) -> None:
        stat = path.stat()
        with Session(self.engine) as s:
            existing = s.scalar(self._doc_query(source))
            if existing and (existing.size, existing.mtime_ns) == (stat.st_size, stat.st_mtime_ns):
                report.unchanged.append(source)
                return
        doc = parse_file(path, source=source)
        self._store_document(doc, report, size=stat.st_size, mtime_ns=stat.st_mtime_ns)

    def add_texts(
        self,
        records: Iterable[dict[str, Any]],
        *,
        progress: Progress | None = None,
        batch_chunks: int = 256,
    ) -> IngestReport:
        """Ingest documents given as ``{"source", "text", "title"?, "meta"?}`` dicts (no file);
        a record whose text is unchanged is skipped. Chunks of many records are embedded
        together (``batch_chunks`` at a time), each record still in its own transaction."""
        from podium.tools.documents import parse_markdown, text_hash

        started = time.perf_counter()
        report = IngestReport()
        items = list(records)
        pending: list[tuple[_Prepared, int]] = []

        def flush() -> None:
            texts = [self._passage(c.title, c.text) for p, _ in pending for c in p.chunks]
            vectors = self.embedder.encode(texts)
            at = 0
            for prepared, n in pending:
                self._write_document(prepared, vectors[at : at + len(prepared.chunks)], report)
                at += len(prepared.chunks)
                if progress:
                    progress(prepared.doc.source, n, len(items))
            pending.clear()

        with self._lock:
            self.sync()
            for n, rec in enumerate(items, start=1):
                text = str(rec.get("text") or "")
                if not text.strip():
                    report.errors[str(rec.get("source"))] = "empty text"
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
                prepared = self._prepare(doc, report, meta=rec.get("meta") or {})
                if prepared is not None:
                    pending.append((prepared, n))
                    if sum(len(p.chunks) for p, _ in pending) >= batch_chunks:
                        flush()
            if pending:
                flush()
            self._save(force=True)
        report.seconds = time.perf_counter() - started
        return report

    def _doc_query(self, source: str) -> Any:
        return sa.select(DocumentRow).where(
            DocumentRow.collection == self.collection, DocumentRow.source == source
        )

    def _store_document(
        self,
        doc: ParsedDocument,
        report: IngestReport,
        *,
        size: int = 0,
        mtime_ns: int = 0,
        meta: dict[str, Any] | None = None,
    ) -> None:
        prepared = self._prepare(doc, report, size=size, mtime_ns=mtime_ns, meta=meta)
        if prepared is not None:
            texts = [self._passage(c.title, c.text) for c in prepared.chunks]
            self._write_document(prepared, self.embedder.encode(texts), report)

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
                with s.begin():
                    existing.size, existing.mtime_ns = size, mtime_ns
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

    def _write_document(
        self, prepared: _Prepared, vectors: np.ndarray, report: IngestReport
    ) -> None:
        doc, chunks = prepared.doc, prepared.chunks
        now = time.time()
        # One transaction per document: its row and all its chunks, or nothing.
        with Session(self.engine) as s, s.begin():
            row = s.scalar(self._doc_query(doc.source))
            old_ids: list[int] = []
            if row is None:
                row = DocumentRow(collection=self.collection, source=doc.source, created_at=now)
                s.add(row)
                report.added.append(doc.source)
            else:
                old_ids = list(
                    s.scalars(sa.select(ChunkRow.id).where(ChunkRow.document_id == row.id))
                )
                s.execute(sa.delete(ChunkRow).where(ChunkRow.document_id == row.id))
                report.updated.append(doc.source)
            row.title, row.kind, row.content_hash = doc.title[:500], doc.kind, doc.content_hash
            row.size, row.mtime_ns, row.n_chunks = prepared.size, prepared.mtime_ns, len(chunks)
            row.meta, row.updated_at = prepared.meta, now
            s.flush()
            chunk_rows = [
                ChunkRow(
                    document_id=row.id,
                    ordinal=i,
                    text=c.text,
                    title=c.title[:1000],
                    page=c.page,
                    content_hash=c.content_hash,
                )
                for i, c in enumerate(chunks)
            ]
            s.add_all(chunk_rows)
            s.flush()
            new_ids = [c.id for c in chunk_rows]
        index = self._vector_index()
        index.remove(old_ids)
        index.add(new_ids, vectors)
        with Session(self.engine) as s:
            self._synced = self._fingerprint(s)
        report.chunks += len(chunks)
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

    # -- search ---------------------------------------------------------------------------

    def search(
        self,
        query: str,
        k: int = 10,
        *,
        mode: str = "hybrid",
        where: dict[str, Any] | None = None,
        candidates: int = CANDIDATES,
        weights: dict[str, float] | None = None,
    ) -> list[Hit]:
        """The ``k`` best chunks for ``query``. ``mode``: hybrid (RRF of dense and BM25),
        dense or bm25. ``where`` filters on ``source`` (glob), ``title`` (substring),
        ``page``, ``kind``, ``collection`` and keys of the document's ``meta``."""
        if mode not in SEARCH_MODES:
            raise InputRejected(f"unknown search mode {mode!r}", hint=f"use one of {SEARCH_MODES}")
        if not query.strip():
            raise InputRejected("the search query is empty", hint="ask something")
        with self._lock:
            self.sync()
            allowed = self._allowed(where) if where else None
            if allowed is not None and len(allowed) == 0:
                return []
            depth = max(k, candidates)
            rankings: dict[str, list[int]] = {}
            scores: dict[str, dict[int, float]] = {}
            if mode in ("dense", "hybrid"):
                vec = self.embedder.encode([query])
                s_arr, i_arr = self._vector_index().search(vec, depth, allowed)
                pairs = [
                    (int(i), float(s)) for s, i in zip(s_arr[0], i_arr[0], strict=True) if i >= 0
                ]
                rankings["dense"] = [i for i, _ in pairs]
                scores["dense"] = dict(pairs)
            if mode in ("bm25", "hybrid"):
                s_arr, i_arr = self._lexical_index().search(query, depth, allowed)
                rankings["bm25"] = [int(i) for i in i_arr]
                scores["bm25"] = {int(i): float(s) for s, i in zip(s_arr, i_arr, strict=True)}
        if mode == "hybrid":
            ranked = reciprocal_rank_fusion(rankings, weights or HYBRID_WEIGHTS, k=HYBRID_K)[:k]
        else:
            ranked = [(i, scores[mode][i]) for i in rankings[mode][:k]]
        return self._hits(ranked, rankings, scores)

    def _lexical_index(self) -> LexicalIndex:
        with Session(self.engine) as s:
            fingerprint = self._fingerprint(s)
            if self._lexical is None or self._lexical_at != fingerprint:
                rows = s.execute(
                    sa.select(ChunkRow.id, ChunkRow.title, ChunkRow.text).order_by(ChunkRow.id)
                ).all()
                self._lexical = LexicalIndex(
                    [r.id for r in rows], [self._passage(r.title, r.text) for r in rows]
                )
                self._lexical_at = fingerprint
        return self._lexical

    def _allowed(self, where: dict[str, Any]) -> np.ndarray:
        query = sa.select(ChunkRow.id, DocumentRow.source, DocumentRow.meta).join(DocumentRow)
        globbed: str | None = None
        meta_filters: dict[str, Any] = {}
        for key, value in where.items():
            if key == "source":
                globbed = str(value)
            elif key == "title":
                query = query.where(ChunkRow.title.contains(str(value)))
            elif key == "page":
                query = query.where(ChunkRow.page == int(value))
            elif key in ("kind", "collection"):
                query = query.where(getattr(DocumentRow, key) == str(value))
            else:
                meta_filters[key] = value
        with Session(self.engine) as s:
            rows = s.execute(query).all()
        ids = [
            r.id
            for r in rows
            if (globbed is None or fnmatch.fnmatch(r.source, globbed) or r.source == globbed)
            and all((r.meta or {}).get(k) == v for k, v in meta_filters.items())
        ]
        return np.asarray(ids, dtype=np.int64)

    def _hits(
        self,
        ranked: list[tuple[int, float]],
        rankings: dict[str, list[int]],
        scores: dict[str, dict[int, float]],
    ) -> list[Hit]:
        if not ranked:
            return []
        ids = [i for i, _ in ranked]
        with Session(self.engine) as s:
            rows = {
                r.id: r
                for r in s.execute(
                    sa.select(
                        ChunkRow.id,
                        ChunkRow.text,
                        ChunkRow.title,
                        ChunkRow.page,
                        DocumentRow.source,
                        DocumentRow.title.label("doc_title"),
                    )
                    .join(DocumentRow)
                    .where(ChunkRow.id.in_(ids))
                ).all()
            }
        positions = {m: {d: r for r, d in enumerate(ranking, 1)} for m, ranking in rankings.items()}
        hits = []
        for chunk_id, score in ranked:
            row = rows.get(chunk_id)
            if row is None:  # deleted between search and read
                continue
            hits.append(
                Hit(
                    chunk_id=chunk_id,
                    text=row.text,
                    source=row.source,
                    title=row.title,
                    page=row.page,
                    score=float(score),
                    document_title=row.doc_title,
                    scores={m: v[chunk_id] for m, v in scores.items() if chunk_id in v},
                    ranks={m: p[chunk_id] for m, p in positions.items() if chunk_id in p},
                )
            )
        return hits

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
    key = (workspace.store_url, embeddings)
    with _WS_LOCK:
        if key not in _WORKSPACE_STORES:
            index_dir = (
                workspace.data_dir / "index" / embeddings.replace(":", "_").replace("/", "_")
            )
            _WORKSPACE_STORES[key] = DocumentStore(
                workspace.store_url, index_dir=index_dir, embeddings=embeddings
            )
        return _WORKSPACE_STORES[key]
