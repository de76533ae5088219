"""The vector side of a document store: a FAISS index file kept in step with the chunks table.

A chunk's integer id is its id in the index, so the two are compared id by id whenever the
database changed (one aggregate query tells): chunks without a vector are embedded, vectors
without a chunk are dropped. The index is saved beside the store (``<store>.index/`` for
SQLite) after every forced save and, between them, no more often than ten times the last save's
duration — a crash then costs only the re-embedding of what the file had not saved yet.

What is encoded is a chunk's sentences, each under the chunk's title (a chunk of one sentence
is encoded whole), in one encoder call per batch; ``sentences.npz`` holds those vectors under
the id ``chunk_id << SENTENCE_BITS | ordinal``: a question answered by one sentence of a
paragraph about something else is found by that sentence (see :mod:`.search`). A chunk's own
vector, in ``vectors.npz``, is the normalised mean of its sentences' vectors — not a second
encoding of the whole passage, which cost as much again (see :data:`CHUNK_VECTORS`). Both are
kept in step with the chunks the same way.
"""

from __future__ import annotations

import logging
import threading
import time
from collections import Counter
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

log = logging.getLogger("podium.memory")

Fingerprint = tuple[int, int, int]
# What a chunk's vector is, saved in vectors.npz's header: 2, the normalised mean of its
# sentences' vectors (one encoder pass over the sentences gives both). An index without the
# key (1) holds chunks encoded whole as one passage, beside their sentences encoded again (two
# passes, 0.43x the bare encoder's speed); on load its chunk vectors are derived again from the
# sentence vectors it already has, without the encoder (a store saved before sentence vectors
# existed has none, and is re-encoded once).
CHUNK_VECTORS = 2
# A sentence's vector id is its chunk's id shifted by this many bits, plus its ordinal: a chunk
# keeps at most 2**SENTENCE_BITS sentence vectors (its first ones; chunks hold ~10).
SENTENCE_BITS = 8
MAX_SENTENCES = 1 << SENTENCE_BITS


def passage(title: str, text: str) -> str:
    """What is embedded, indexed and reranked for a chunk: its title, then its text."""
    return f"{title}: {text}" if title else text


def sentence_passages(title: str, text: str) -> list[str]:
    """What is encoded for a chunk: each of its sentences under the chunk's title (a chunk of
    one sentence, or of none the splitter finds, is its whole passage)."""
    parts = sentences(text)
    return [passage(title, part) for part in parts] if len(parts) > 1 else [passage(title, text)]


def mean_vectors(vectors: np.ndarray, counts: list[int]) -> np.ndarray:
    """Chunk vectors from sentence vectors in chunk order (``counts[j]`` for the j-th chunk):
    the mean of each chunk's, L2-normalised."""
    starts = np.concatenate([[0], np.cumsum(counts)[:-1]]).astype(np.int64)
    means = np.add.reduceat(vectors, starts, axis=0) / np.asarray(counts, np.float32)[:, None]
    norms = np.linalg.norm(means, axis=1, keepdims=True)
    return (means / np.maximum(norms, 1e-12)).astype(np.float32)


def encode_chunks(
    embedder: Any, chunks: list[tuple[str, str]]
) -> tuple[np.ndarray, tuple[list[int], np.ndarray]]:
    """Encode ``chunks`` (``(title, text)`` pairs) in one encoder call over their sentences
    (:func:`sentence_passages`; a sentence two chunks share by overlap is encoded once): the
    chunk vectors (:func:`mean_vectors` of all of a chunk's sentences) and, as
    :meth:`VectorSync.update` takes them, how many sentence vectors each chunk keeps (its first
    ``MAX_SENTENCES``) and those vectors in chunk order."""
    if not chunks:
        empty = np.zeros((0, embedder.dim), np.float32)
        return empty, ([], empty)
    texts = [sentence_passages(title, text) for title, text in chunks]
    unique = list(dict.fromkeys(t for part in texts for t in part))
    row = {t: i for i, t in enumerate(unique)}
    encoded = np.asarray(embedder.encode(unique), dtype=np.float32)
    every = encoded[[row[t] for part in texts for t in part]]
    vectors = mean_vectors(every, [len(part) for part in texts])
    counts = [min(len(part), MAX_SENTENCES) for part in texts]
    kept = np.concatenate(
        [encoded[[row[t] for t in part[:MAX_SENTENCES]]] for part in texts]
    ).astype(np.float32)
    return vectors, (counts, kept)


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
    # how the file's chunk vectors were made (CHUNK_VECTORS; 1: encoded whole), None: no file
    chunk_vectors: int | None = None

    @property
    def outdated(self) -> bool:
        """Chunk vectors of an older kind: the next sync derives them again."""
        return self.chunk_vectors not in (None, CHUNK_VECTORS)

    @property
    def ok(self) -> bool:
        return (
            self.missing == 0
            and self.extra == 0
            and self.index_model in (None, self.model)
            and not self.outdated
        )


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
        """The chunks' index in memory: loaded from its file on first use, or new and empty (also
        when the file holds chunk vectors of another kind than :data:`CHUNK_VECTORS`: the next
        :meth:`sync` derives them again)."""
        if self._vectors is None:
            self._vectors = self._load(self.index_path, chunk_vectors=True)
        return self._vectors

    def sentences(self) -> VectorIndex:
        """The sentences' index in memory (ids: ``chunk_id << SENTENCE_BITS | ordinal``). A
        store saved before sentence vectors existed starts with an empty one, which the next
        :meth:`sync` fills."""
        if self._sentences is None:
            self._sentences = self._load(self.sentence_path)
        return self._sentences

    def _load(self, path: Path, chunk_vectors: bool = False) -> VectorIndex:
        if not path.is_file():
            return VectorIndex(self.embedder.dim, exact_limit=self.exact_limit)
        index, meta = VectorIndex.load(path, exact_limit=self.exact_limit)
        if meta.get("model") != self.embeddings:
            raise ConfigError(
                f"the index at {path} was built with {meta.get('model')!r}, "
                f"this store embeds with {self.embeddings!r}",
                hint="rebuild it: podium index rebuild",
            )
        if chunk_vectors and meta.get("chunk_vectors", 1) != CHUNK_VECTORS:
            log.warning(
                "the chunk vectors at %s were encoded whole (an index written before chunk "
                "vectors were the mean of their sentences'): they are derived again from the "
                "sentence vectors (chunks without them are encoded once more)",
                path,
            )
            return VectorIndex(self.embedder.dim, exact_limit=self.exact_limit)
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
            chunk_vectors=int(meta.get("chunk_vectors", 1)) if meta else None,
        )

    def sync(self, force: bool = False) -> dict[str, int]:
        """Make the indexes match the database: encode the sentences of chunks that have none
        (and take their chunk vectors from them), derive the vector of a chunk whose sentences
        are there but whose own vector is not (an index of another :data:`CHUNK_VECTORS`), drop
        the vectors of deleted chunks. Cheap when nothing changed (one aggregate query).
        Returns how many chunk vectors were added and removed."""
        with self.lock, Session(self.engine) as s:
            now = fingerprint(s)
            if now == self._synced and not force:
                return {"added": 0, "removed": 0}
            index, sentences = self.index(), self.sentences()
            db_ids = set(s.scalars(sa.select(ChunkRow.id)))
            extra = index.ids - db_ids
            index.remove(extra)
            sentences.remove([i for i in sentences.ids if (i >> SENTENCE_BITS) not in db_ids])
            covered = {i >> SENTENCE_BITS for i in sentences.ids}
            unencoded = sorted(db_ids - covered)
            underived = sorted((db_ids & covered) - index.ids)
            added = len(db_ids - index.ids)
            for start in range(0, len(unencoded), 512):
                rows = s.execute(
                    sa.select(ChunkRow.id, ChunkRow.title, ChunkRow.text).where(
                        ChunkRow.id.in_(unencoded[start : start + 512])
                    )
                ).all()
                ids = [r.id for r in rows]
                vectors, (counts, sentence_vectors) = encode_chunks(
                    self.embedder, [(r.title, r.text) for r in rows]
                )
                index.add(ids, vectors)
                sentences.add(sentence_ids(ids, counts), sentence_vectors)
            for start in range(0, len(underived), 4096):
                owners, ids = sentences_of(sentences, underived[start : start + 4096])
                _, sentence_vectors = sentences.vectors(ids)
                per_chunk = Counter(owners)  # in chunk order, as the vectors are
                index.add(list(per_chunk), mean_vectors(sentence_vectors, list(per_chunk.values())))
            if extra or unencoded or underived or not self.index_path.is_file():
                self.save(force=True)
            self._synced = now
            return {"added": added, "removed": len(extra)}

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
        has, their vectors: :func:`encode_chunks`) for theirs, and take the database as
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
            self._vectors.save(
                self.index_path, {"model": self.embeddings, "chunk_vectors": CHUNK_VECTORS}
            )
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
