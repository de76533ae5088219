"""Ingestion: files and records in, documents and chunks written, vectors added.

Ingestion runs at the encoder's speed: documents are gathered into batches of ~``BATCH_CHUNKS``
chunks, each batch is encoded in one call (its chunks' sentences; a chunk's vector is their
mean, see :mod:`.sync`), written in one transaction (every document with all its chunks, or
none of them) and added to the index in one step. A crash mid-ingest costs at most the batch in
flight and the re-embedding of the chunks the index had not saved yet (see :mod:`.sync`).
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
from sqlalchemy.engine import Engine
from sqlalchemy.orm import Session

from podium.tools.documents import (
    Chunk,
    DocumentRejected,
    ParsedDocument,
    Section,
    chunk_document,
    iter_documents,
    parse_file,
)

from ..tables import ChunkRow, DocumentRow
from .sync import VectorSync, encode_chunks

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
        ingester: Ingester,
        report: IngestReport,
        progress: Progress | None,
        total: int,
        max_chunks: int,
    ) -> None:
        self.ingester, self.report, self.progress = ingester, report, progress
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
            self.ingester.write_batch(self.items, self.report)
        if self.progress:
            for source, n in self.done:
                self.progress(source, n, self.total)
        self.items, self.done, self.hashes, self.chunks = [], [], {}, 0


class Ingester:
    """Adds, updates and deletes the documents of ``collection`` in ``engine``'s store and
    keeps ``vectors`` in step; holds ``lock`` (the store's) while it writes."""

    def __init__(
        self,
        engine: Engine,
        vectors: VectorSync,
        *,
        collection: str,
        max_chars: int,
        overlap: int,
        lock: threading.RLock,
    ) -> None:
        self.engine = engine
        self.vectors = vectors
        self.collection = collection
        self.max_chars, self.overlap = max_chars, overlap
        self.lock = lock

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
        in batches of about ``batch_chunks`` chunks (see :meth:`write_batch`)."""
        started = time.perf_counter()
        roots = [Path(p).expanduser().resolve() for p in paths]
        files = iter_documents(roots)
        report = IngestReport()
        with self.lock:
            self.vectors.sync()
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
            self.vectors.save(force=True)
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
        with self.lock:
            self.vectors.sync()
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
            self.vectors.save(force=True)
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

    def write_batch(self, batch: list[_Prepared], report: IngestReport) -> None:
        """Encode the chunks of ``batch`` in one call (their sentences: :func:`encode_chunks`),
        write every document of it in one transaction (all of them with all their chunks, or
        nothing), then update the vector indexes once. A crash before the commit loses the
        batch, never part of a document; a crash after it loses at most vectors, which ``sync``
        re-embeds on the next open."""
        pieces = [(c.title, c.text) for p in batch for c in p.chunks]
        vectors, sentences = encode_chunks(self.vectors.embedder, pieces)
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
        self.vectors.update(old_ids, new_ids, vectors, sentences)
        report.chunks += len(new_ids)
        self.vectors.save()

    def remove(self, source: str) -> bool:
        """Delete a document and its chunks and vectors; False when there was none."""
        source = _as_source(source)
        with self.lock:
            with Session(self.engine) as s, s.begin():
                row = s.scalar(self._doc_query(source))
                if row is None:
                    return False
                ids = list(s.scalars(sa.select(ChunkRow.id).where(ChunkRow.document_id == row.id)))
                s.execute(sa.delete(ChunkRow).where(ChunkRow.document_id == row.id))
                s.delete(row)
            self.vectors.update(ids, [])
            self.vectors.save(force=True)
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


def _as_source(source: str) -> str:
    p = Path(source).expanduser()
    return str(p.resolve()) if p.exists() else source
