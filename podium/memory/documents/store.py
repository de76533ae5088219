"""The document store: files in, searchable chunks out.

    store = DocumentStore("sqlite:///ws/.podium/store.sqlite")
    store.ingest([Path("docs")])                    # add / update / skip unchanged
    hits = store.search("how long is the warranty?", k=5, where={"source": "*.md"})

Documents and chunks live in the SQL store (any SQLAlchemy URL); vectors live in a FAISS file
beside it (``index_dir``, default ``<store>.index/`` for SQLite). The store is one object made
of three parts that share its engine and its lock: ingestion (:mod:`.ingest`: batches encoded,
written and indexed together), the vector index kept in step with the chunks (:mod:`.sync`)
and search (:mod:`.search`).
"""

from __future__ import annotations

import threading
from collections.abc import Iterable
from pathlib import Path
from typing import Any, Literal

import sqlalchemy as sa
from sqlalchemy.orm import Session

from podium.tools.documents import Chunk

from ..engine import make_engine
from ..schema import migrate
from ..tables import ChunkRow, DocumentRow
from .ingest import BATCH_CHUNKS, Ingester, IngestReport, Progress
from .search import (
    AGGREGATE,
    CANDIDATES,
    LADDER_RERANK_DEPTH,
    DocumentSearch,
    Hit,
)
from .sync import Consistency, VectorSync, default_index_dir

__all__ = ["Consistency", "DocumentStore", "Hit", "IngestReport", "for_workspace"]


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
        reranker: str | None = None,
    ) -> None:
        self.url = url
        self.engine = make_engine(url)
        migrate(self.engine)
        self.index_dir = Path(index_dir) if index_dir else default_index_dir(url)
        self.embeddings = embeddings
        self.collection = collection
        self.exact_limit = exact_limit
        self.max_chars, self.overlap = max_chars, overlap
        self._lock = threading.RLock()
        self.vectors = VectorSync(
            self.engine,
            self.index_dir,
            embeddings=embeddings,
            exact_limit=exact_limit,
            lock=self._lock,
        )
        self.index_path = self.vectors.index_path
        self.ingester = Ingester(
            self.engine,
            self.vectors,
            collection=collection,
            max_chars=max_chars,
            overlap=overlap,
            lock=self._lock,
        )
        self.searcher = DocumentSearch(
            self.engine, self.vectors, lock=self._lock, reranker=reranker
        )
        self.reranker_path = self.searcher.reranker_path

    # -- models and indexes ---------------------------------------------------------------

    @property
    def embedder(self) -> Any:
        return self.vectors.embedder

    @property
    def reranker(self) -> Any:
        """The cross-encoder that reorders the top passages, or None (see
        :attr:`DocumentSearch.reranker`)."""
        return self.searcher.reranker

    def check(self) -> Consistency:
        """Compare the chunks in the database with the vectors in the index file."""
        return self.vectors.check()

    def sync(self, force: bool = False) -> dict[str, int]:
        """Make the index match the database: embed missing chunks, drop vectors of deleted
        ones. Cheap when nothing changed (one aggregate query)."""
        return self.vectors.sync(force)

    def rebuild(self) -> dict[str, Any]:
        """Re-embed every chunk into a new index (after a model change or a damaged file)."""
        with self._lock:
            counts = self.vectors.rebuild()
            return {**counts, **self.stats()}

    def stats(self) -> dict[str, Any]:
        with Session(self.engine) as s:
            docs = s.scalar(sa.select(sa.func.count(DocumentRow.id))) or 0
            chunks = s.scalar(sa.select(sa.func.count(ChunkRow.id))) or 0
        index = self.vectors.index()
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
        A bad file is reported in ``errors`` and does not stop the others (see
        :meth:`Ingester.ingest`)."""
        return self.ingester.ingest(
            paths, prune=prune, progress=progress, batch_chunks=batch_chunks
        )

    def add_texts(
        self,
        records: Iterable[dict[str, Any]],
        *,
        progress: Progress | None = None,
        batch_chunks: int = BATCH_CHUNKS,
    ) -> IngestReport:
        """Ingest documents given as ``{"source", "text", "title"?, "meta"?}`` dicts (no file);
        a record whose text is unchanged is skipped."""
        return self.ingester.add_texts(records, progress=progress, batch_chunks=batch_chunks)

    def remove(self, source: str) -> bool:
        """Delete a document and its chunks and vectors; False when there was none."""
        return self.ingester.remove(source)

    def sources(self) -> list[str]:
        return self.ingester.sources()

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
        per: Literal["document", "chunk"] = "document",
        aggregate: str = AGGREGATE,
        reranker: Any = None,
        rerank_depth: int = LADDER_RERANK_DEPTH,
        sentence_weight: float | None = None,
        expansion: str | None = None,
    ) -> list[Hit]:
        """The ``k`` best documents for ``query``, each as its best passage (see
        :meth:`DocumentSearch.search` for the options)."""
        return self.searcher.search(
            query,
            k,
            mode=mode,
            where=where,
            candidates=candidates,
            weights=weights,
            per=per,
            aggregate=aggregate,
            reranker=reranker,
            rerank_depth=rerank_depth,
            sentence_weight=sentence_weight,
            expansion=expansion,
        )

    def encode_queries(self, queries: list[str]) -> None:
        """Encode ``queries`` in one batch and keep their vectors for the next searches."""
        self.searcher.encode_queries(queries)

    def close(self) -> None:
        self.vectors.close()
        self.engine.dispose()


_WORKSPACE_STORES: dict[tuple[str, str, str | None], DocumentStore] = {}
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
