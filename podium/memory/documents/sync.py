"""The vector side of a document store: a FAISS index file kept in step with the chunks table.

A chunk's integer id is its id in the index, so the two are compared id by id whenever the
database changed (one aggregate query tells): chunks without a vector are embedded, vectors
without a chunk are dropped. The index is saved beside the store (``<store>.index/`` for
SQLite) after every forced save and, between them, no more often than ten times the last save's
duration — a crash then costs only the re-embedding of what the file had not saved yet.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import sqlalchemy as sa
from sqlalchemy.engine import Engine
from sqlalchemy.orm import Session

from podium.errors import ConfigError

from ..index import VectorIndex
from ..tables import ChunkRow

Fingerprint = tuple[int, int, int]


def passage(title: str, text: str) -> str:
    """What is embedded, indexed and reranked for a chunk: its title, then its text."""
    return f"{title}: {text}" if title else text


def fingerprint(s: Session) -> Fingerprint:
    """Count, max and sum of the chunk ids: changes whenever a chunk is added or deleted."""
    row = s.execute(
        sa.select(sa.func.count(ChunkRow.id), sa.func.max(ChunkRow.id), sa.func.sum(ChunkRow.id))
    ).one()
    return int(row[0] or 0), int(row[1] or 0), int(row[2] or 0)


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


class VectorSync:
    """The vectors of the chunks in ``engine``'s store, in ``index_dir/vectors.npz``, encoded
    with ``embeddings``. Every method that reads or changes the index holds ``lock`` (the
    store's, shared with ingestion and search)."""

    def __init__(
        self,
        engine: Engine,
        index_dir: Path,
        *,
        embeddings: str,
        exact_limit: int,
        lock: threading.RLock,
    ) -> None:
        self.engine = engine
        self.index_path = index_dir / "vectors.npz"
        self.embeddings = embeddings
        self.exact_limit = exact_limit
        self.lock = lock
        self._embedder: Any = None
        self._vectors: VectorIndex | None = None
        self._synced: Fingerprint | None = None
        self._last_save = 0.0
        self._save_seconds = 0.0
        self._dirty = False

    @property
    def embedder(self) -> Any:
        if self._embedder is None:
            from podium.models.embeddings import load_embedder

            self._embedder = load_embedder(self.embeddings)
        return self._embedder

    def index(self) -> VectorIndex:
        """The index in memory: loaded from its file on first use, or new and empty."""
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
        with self.lock, Session(self.engine) as s:
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
        with self.lock, Session(self.engine) as s:
            now = fingerprint(s)
            if now == self._synced and not force:
                return {"added": 0, "removed": 0}
            index = self.index()
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
                vectors = self.embedder.encode([passage(r.title, r.text) for r in rows])
                index.add([r.id for r in rows], vectors)
            if extra or missing or not self.index_path.is_file():
                self.save(force=True)
            self._synced = now
            return {"added": len(missing), "removed": len(extra)}

    def rebuild(self) -> dict[str, int]:
        """Re-embed every chunk into a new index (after a model change or a damaged file)."""
        with self.lock:
            self._vectors = VectorIndex(self.embedder.dim, exact_limit=self.exact_limit)
            self._synced = None
            counts = self.sync(force=True)
            self.save(force=True)
            return counts

    def update(
        self, removed: Iterable[int], added: list[int], vectors: np.ndarray | None = None
    ) -> None:
        """Follow a committed write: drop the vectors of ``removed`` chunks, add ``vectors``
        for the ``added`` ones, and take the database as synced. The file is written by the
        next :meth:`save`."""
        index = self.index()
        index.remove(removed)
        if vectors is not None:
            index.add(added, vectors)
        with Session(self.engine) as s:
            self._synced = fingerprint(s)
        self._dirty = True

    def save(self, force: bool = False) -> None:
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

    def close(self) -> None:
        """Save what the file has not seen yet."""
        with self.lock:
            if self._dirty:
                self.save(force=True)
