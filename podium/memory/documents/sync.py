"""The vector side of a document store: a FAISS index file kept in step with the chunks table.

A chunk's integer id is its id in the index, so the two are compared id by id whenever the
database changed (one aggregate query tells): chunks without a vector are embedded, vectors
without a chunk are dropped. The index is saved beside the store (``<store>.index/`` for
SQLite) after every forced save and, between them, no more often than ten times the last save's
duration — a crash then costs only the re-embedding of what the file had not saved yet.

Beside the chunk vectors, ``sentences.npz`` holds one vector per sentence of every chunk (a
chunk of one sentence lends it its own vector, nothing is encoded twice), under the id
``chunk_id << SENTENCE_BITS | ordinal``: a question answered by one sentence of a paragraph
about something else is found by that sentence (see :mod:`.search`). It is kept in step with
the chunks the same way; a store saved before it existed gets it on its first sync.
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
from podium.tools.documents import sentences

from ..index import VectorIndex
from ..tables import ChunkRow

Fingerprint = tuple[int, int, int]
# A sentence's vector id is its chunk's id shifted by this many bits, plus its ordinal: a chunk
# keeps at most 2**SENTENCE_BITS sentence vectors (its first ones; chunks hold ~10).
SENTENCE_BITS = 8
MAX_SENTENCES = 1 << SENTENCE_BITS


def passage(title: str, text: str) -> str:
    """What is embedded, indexed and reranked for a chunk: its title, then its text."""
    return f"{title}: {text}" if title else text


def sentence_passages(title: str, text: str) -> list[str]:
    """What is embedded for a chunk's sentences: each under the chunk's title. A chunk of one
    sentence has none of its own (its chunk vector is that sentence's)."""
    parts = sentences(text)[:MAX_SENTENCES]
    return [passage(title, part) for part in parts] if len(parts) > 1 else []


def encode_sentences(
    embedder: Any, chunks: list[tuple[str, str]], chunk_vectors: np.ndarray
) -> tuple[list[int], np.ndarray]:
    """The sentence vectors of ``chunks`` (``(title, text)`` pairs, whose own vectors are
    ``chunk_vectors``) in one encoder call: how many each chunk has, and the vectors in chunk
    order. A chunk of one sentence gets its chunk vector."""
    texts = [sentence_passages(title, text) for title, text in chunks]
    encoded = embedder.encode([t for part in texts for t in part])
    counts: list[int] = []
    out: list[np.ndarray] = []
    at = 0
    for j, part in enumerate(texts):
        if part:
            out.append(encoded[at : at + len(part)])
            at += len(part)
        else:
            out.append(chunk_vectors[j : j + 1])
        counts.append(len(out[-1]))
    if not out:
        return counts, np.zeros((0, chunk_vectors.shape[1]), dtype=np.float32)
    return counts, np.concatenate(out).astype(np.float32)


def sentence_ids(chunk_ids: list[int], counts: list[int]) -> list[int]:
    """The vector ids of the sentences of ``chunk_ids``, ``counts[j]`` of them for the j-th."""
    return [
        (c << SENTENCE_BITS) | k for c, n in zip(chunk_ids, counts, strict=True) for k in range(n)
    ]


def sentences_of(index: VectorIndex, chunk_ids: Iterable[int]) -> tuple[list[int], list[int]]:
    """The sentence vectors ``index`` holds for ``chunk_ids``: their chunks and their ids, in
    pairs (a chunk's ordinals run from 0 without a gap)."""
    owners: list[int] = []
    ids: list[int] = []
    for c in chunk_ids:
        for k in range(MAX_SENTENCES):
            sid = (c << SENTENCE_BITS) | k
            if sid not in index.ids:
                break
            owners.append(c)
            ids.append(sid)
    return owners, ids


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
    """The vectors of the chunks in ``engine``'s store, in ``index_dir/vectors.npz``, and of
    their sentences, in ``index_dir/sentences.npz``, encoded with ``embeddings``. Every method
    that reads or changes the indexes holds ``lock`` (the store's, shared with ingestion and
    search)."""

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
        self.sentence_path = index_dir / "sentences.npz"
        self.embeddings = embeddings
        self.exact_limit = exact_limit
        self.lock = lock
        self._embedder: Any = None
        self._vectors: VectorIndex | None = None
        self._sentences: VectorIndex | None = None
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
        """The chunks' index in memory: loaded from its file on first use, or new and empty."""
        if self._vectors is None:
            self._vectors = self._load(self.index_path)
        return self._vectors

    def sentences(self) -> VectorIndex:
        """The sentences' index in memory (ids: ``chunk_id << SENTENCE_BITS | ordinal``). A
        store saved before sentence vectors existed starts with an empty one, which the next
        :meth:`sync` fills."""
        if self._sentences is None:
            self._sentences = self._load(self.sentence_path)
        return self._sentences

    def _load(self, path: Path) -> VectorIndex:
        if not path.is_file():
            return VectorIndex(self.embedder.dim, exact_limit=self.exact_limit)
        index, meta = VectorIndex.load(path, exact_limit=self.exact_limit)
        if meta.get("model") != self.embeddings:
            raise ConfigError(
                f"the index at {path} was built with {meta.get('model')!r}, "
                f"this store embeds with {self.embeddings!r}",
                hint="rebuild it: podium index rebuild",
            )
        return index

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
            sentences_changed = self._sync_sentences(s, db_ids)
            if extra or missing or sentences_changed or not self.index_path.is_file():
                self.save(force=True)
            self._synced = now
            return {"added": len(missing), "removed": len(extra)}

    def _sync_sentences(self, s: Session, db_ids: set[int]) -> bool:
        """Give every chunk its sentence vectors and drop those of deleted chunks (a store
        saved before sentence vectors existed gets them all here); True when anything
        changed."""
        index, sentences = self.index(), self.sentences()
        covered = {i >> SENTENCE_BITS for i in sentences.ids}
        extra = [i for i in sentences.ids if (i >> SENTENCE_BITS) not in db_ids]
        missing = sorted(db_ids - covered)
        sentences.remove(extra)
        for start in range(0, len(missing), 512):
            batch = missing[start : start + 512]
            rows = s.execute(
                sa.select(ChunkRow.id, ChunkRow.title, ChunkRow.text).where(ChunkRow.id.in_(batch))
            ).all()
            ids = [r.id for r in rows]
            _, chunk_vectors = index.vectors(ids)
            counts, vectors = encode_sentences(
                self.embedder, [(r.title, r.text) for r in rows], chunk_vectors
            )
            sentences.add(sentence_ids(ids, counts), vectors)
        return bool(extra or missing)

    def rebuild(self) -> dict[str, int]:
        """Re-embed every chunk into a new index (after a model change or a damaged file)."""
        with self.lock:
            self._vectors = VectorIndex(self.embedder.dim, exact_limit=self.exact_limit)
            self._sentences = VectorIndex(self.embedder.dim, exact_limit=self.exact_limit)
            self._synced = None
            counts = self.sync(force=True)
            self.save(force=True)
            return counts

    def update(
        self,
        removed: Iterable[int],
        added: list[int],
        vectors: np.ndarray | None = None,
        sentences: tuple[list[int], np.ndarray] | None = None,
    ) -> None:
        """Follow a committed write: drop the vectors of ``removed`` chunks and of their
        sentences, add ``vectors`` for the ``added`` ones and ``sentences`` (how many each
        has, their vectors: :func:`encode_sentences`) for theirs, and take the database as
        synced. The files are written by the next :meth:`save`."""
        index, sentence_index = self.index(), self.sentences()
        removed = list(removed)
        index.remove(removed)
        sentence_index.remove(
            i
            for c in removed
            for i in range(c << SENTENCE_BITS, (c << SENTENCE_BITS) + MAX_SENTENCES)
        )
        if vectors is not None:
            index.add(added, vectors)
        if sentences is not None:
            counts, sentence_vectors = sentences
            sentence_index.add(sentence_ids(added, counts), sentence_vectors)
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
            if self._sentences is not None:
                self._sentences.save(self.sentence_path, {"model": self.embeddings})
            self._last_save = time.monotonic()
            self._save_seconds = self._last_save - t0
            self._dirty = False

    def close(self) -> None:
        """Save what the file has not seen yet."""
        with self.lock:
            if self._dirty:
                self.save(force=True)
