"""Search over a :class:`~podium.memory.documents.DocumentStore`: dense, BM25 and hybrid, with
metadata filters. :class:`DocumentSearch` reads the chunks table and asks the store's vector
side for three things only (:class:`Vectors`); the BM25 index, the query vectors and the
reranker are its own.

Ranking is by **document** unless a caller asks for passages: the chunks found are grouped by
the document they come from and each document is ranked once, under its best passage. A user
asking "which sources say X" wants different sources, and every document-level metric (BEIR's
qrels judge documents) counts a document once — ranking chunks let a document cut in three
fill three places of a top 10 and earn its gain three times.
"""

from __future__ import annotations

import fnmatch
import importlib.util
import threading
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any, Literal, Protocol

import numpy as np
import sqlalchemy as sa
from sqlalchemy.engine import Engine
from sqlalchemy.orm import Session

from podium.errors import InputRejected

from ..index import LexicalIndex, VectorIndex, reciprocal_rank_fusion
from ..tables import ChunkRow, DocumentRow
from .sync import SENTENCE_BITS, Fingerprint, fingerprint, passage, sentences_of

SEARCH_MODES = ("hybrid", "dense", "bm25")
# BM25 stems words (Snowball, PyStemmer) when PyStemmer is installed (a dependency; see
# podium.memory.index.tokenize): on the dev half of Climate-FEVER it lifted BM25 alone by 0.035
# nDCG@10 and, with the BM25 weight re-chosen, the hybrid by 0.007; on SciFact (nothing tuned
# there) hybrid +0.008. benchmarks/retrieval_candidates.py has the grids.
STEMMING = importlib.util.find_spec("Stemmer") is not None
# The hybrid's reciprocal rank fusion: BM25 weight and k chosen as the best nDCG@10 on the dev
# half of the Climate-FEVER retrieval slice (grid in benchmarks/retrieval_candidates.py and
# benchmarks/retrieval_fusion.py; every weight > 0 beat dense alone on both halves), for
# stemmed BM25 and, where PyStemmer is missing, for unstemmed BM25.
HYBRID_WEIGHTS = {"dense": 1.0, "bm25": 0.8 if STEMMING else 0.6}
HYBRID_K = 5
CANDIDATES = 100
# With a cross-encoder configured, this many fused candidates are rescored and reordered.
RERANK_DEPTH = 30
# A generative reranker (the ladder's 1.5B, :mod:`.rerank`) costs one model pass per document:
# it reorders this many (benchmarks/retrieval_rerank.py measures gain and seconds).
LADDER_RERANK_DEPTH = 20
# Ranking by document reads this many times more chunks than the documents it returns, so a
# top k of documents is still full when the best documents each match with several chunks.
CHUNKS_PER_DOCUMENT = 4
# How a document's chunks make its score: "max" (its best chunk's) or "rrf" (reciprocal-rank
# sum of its best AGGREGATE_TOP chunks, so a document matching in several places rises).
# Chosen by nDCG@10 on SciFact (benchmarks/retrieval_aggregate.py; see BENCHMARKS.md).
AGGREGATE = "max"
# A chunk's dense score: (1 - SENTENCE_WEIGHT) · its own cosine to the query + SENTENCE_WEIGHT
# · its best sentence's (a chunk of one sentence is its own best sentence). A paragraph mostly
# about one thing that answers a question in one sentence ("... answers email and chat from
# 08:00 to 20:00 ...") is far from the question as a whole and close to it by that sentence.
# A chunk's own vector is the mean of its sentences' (sync.CHUNK_VECTORS). Chosen on SciFact's
# dev half from 0 to 1 by 0.1-0.25 steps: hybrid nDCG@10 was within 0.001 of its best from 0.6
# to 0.8, dense alone best at 0.7 (benchmarks/retrieval_sentences.py; see BENCHMARKS.md). With
# chunk vectors encoded whole (before), 0.5 was chosen the same way.
SENTENCE_WEIGHT = 0.7
# The sentence index is read this many times deeper than the chunk index (chunks hold several).
SENTENCES_PER_CHUNK = 4
# Query expansion (HyDE, Gao et al. 2022; query2doc, Wang et al. 2023): a passage a model wrote
# for the query joins it. The dense query is normalise(query + EXPANSION_DENSE_WEIGHT ·
# passage) and BM25 reads the query EXPANSION_QUERY_REPEAT times followed by the passage, so
# the query's own words still weigh most. Both chosen on the dev half of the Climate-FEVER
# slice with the ladder's 1.5B writing the passages (benchmarks/retrieval_expand.py).
EXPANSION_DENSE_WEIGHT = 0.5
EXPANSION_QUERY_REPEAT = 5
# Query vectors kept by the store (repeated questions skip the encoder).
QUERY_CACHE = 2048
AGGREGATE_TOP = 3
AGGREGATE_K = 60


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
    # With per-document ranking: how many of the document's chunks were among the candidates,
    # and the next best of them as (title, text), best first: a broad question ("What is your
    # return policy?") is often answered in a section other than the one that ranked first.
    matched_chunks: int = 1
    more: tuple[tuple[str, str], ...] = ()


def rank_documents(
    hits: list[Hit], how: str = AGGREGATE, top: int = AGGREGATE_TOP, k: int = AGGREGATE_K
) -> list[Hit]:
    """One hit per document, best first, from chunk hits ranked best first. Each document is
    represented by its best passage (its first chunk in ``hits``); its score is that passage's
    (``max``) or the reciprocal-rank sum ``Σ 1/(k + rank)`` over its best ``top`` chunks
    (``rrf``), in which case the order is re-sorted by that sum (ties: the better best chunk)."""
    if how not in ("max", "rrf"):
        raise InputRejected(f"unknown aggregation {how!r}", hint="use 'max' or 'rrf'")
    best: dict[str, Hit] = {}
    fused: dict[str, float] = {}
    counts: dict[str, int] = {}
    more: dict[str, list[tuple[str, str]]] = {}
    for rank, hit in enumerate(hits, start=1):
        counts[hit.source] = counts.get(hit.source, 0) + 1
        if hit.source not in best:
            best[hit.source] = hit
        elif counts[hit.source] <= top:
            more.setdefault(hit.source, []).append((hit.title, hit.text))
        if counts[hit.source] <= top:
            fused[hit.source] = fused.get(hit.source, 0.0) + 1.0 / (k + rank)
    order = list(best)  # first appearance = best chunk first
    if how == "rrf":
        position = {source: i for i, source in enumerate(order)}
        order.sort(key=lambda src: (-fused[src], position[src]))
    out = []
    for source in order:
        hit = replace(best[source], matched_chunks=counts[source], more=tuple(more.get(source, ())))
        if how == "rrf":
            hit.scores = {**hit.scores, "document": fused[source]}
            hit.score = fused[source]
        out.append(hit)
    return out


class Vectors(Protocol):
    """What search needs of the store's vector side (:class:`~.sync.VectorSync` is one)."""

    @property
    def embedder(self) -> Any: ...

    def sync(self, force: bool = False) -> dict[str, int]: ...

    def index(self) -> VectorIndex: ...

    def sentences(self) -> VectorIndex: ...


class DocumentSearch:
    """Searches the chunks in ``engine``'s store. ``vectors`` is synced before each search and
    searched for the dense ranking; ``lock`` (the store's) is held while the indexes are read;
    ``reranker`` is the folder of a cross-encoder that reorders the top passages, if any."""

    def __init__(
        self,
        engine: Engine,
        vectors: Vectors,
        *,
        lock: threading.RLock,
        reranker: str | None = None,
    ) -> None:
        self.engine = engine
        self.vectors = vectors
        self.lock = lock
        self.reranker_path = reranker or None
        self._reranker: Any = None
        self._lexical: LexicalIndex | None = None
        self._lexical_at: Fingerprint | None = None
        self._query_vectors: dict[str, np.ndarray] = {}

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
        """The ``k`` best documents for ``query``, each as its best passage (``per="chunk"``:
        the ``k`` best passages, several may come from one document). ``mode``: hybrid (RRF of
        dense and BM25), dense or bm25. ``where`` filters on ``source`` (glob), ``title``
        (substring), ``page``, ``kind``, ``collection`` and keys of the document's ``meta``.
        ``aggregate``: how a document's chunks score it (see :func:`rank_documents`).
        ``reranker``: for this search, an object with ``rerank(query, hits) -> hits`` (e.g. a
        :class:`~.rerank.LadderReranker`) that reorders the top ``rerank_depth`` results in
        place of the configured cross-encoder; the rest keep their order below them.
        ``sentence_weight``: how much a chunk's best sentence counts in its dense score (0: the
        chunk's own cosine alone, 1: its best sentence's alone; unset: ``SENTENCE_WEIGHT``).
        ``expansion``: a passage written for the query (:class:`~.expand.QueryExpander`) that
        both methods read beside it (see ``EXPANSION_DENSE_WEIGHT``); a reranker still judges
        the query alone."""
        if mode not in SEARCH_MODES:
            raise InputRejected(f"unknown search mode {mode!r}", hint=f"use one of {SEARCH_MODES}")
        if per not in ("document", "chunk"):
            raise InputRejected(f"unknown ranking unit {per!r}", hint="use 'document' or 'chunk'")
        if not query.strip():
            raise InputRejected("the search query is empty", hint="ask something")
        with self.lock:
            self.vectors.sync()
            allowed = self._allowed(where) if where else None
            if allowed is not None and len(allowed) == 0:
                return []
            depth = max(k, candidates) * (CHUNKS_PER_DOCUMENT if per == "document" else 1)
            rankings: dict[str, list[int]] = {}
            scores: dict[str, dict[int, float]] = {}
            if mode in ("dense", "hybrid"):
                weight = SENTENCE_WEIGHT if sentence_weight is None else sentence_weight
                vec = self._query_vector(query)
                if expansion:
                    vec = vec + EXPANSION_DENSE_WEIGHT * self._query_vector(expansion)
                    vec = (vec / max(float(np.linalg.norm(vec)), 1e-12)).astype(np.float32)
                pairs = self._dense(vec, depth, allowed, weight)
                rankings["dense"] = [i for i, _ in pairs]
                scores["dense"] = dict(pairs)
            if mode in ("bm25", "hybrid"):
                words = query
                if expansion and EXPANSION_QUERY_REPEAT > 0:  # 0: the query alone
                    words = " ".join([query] * EXPANSION_QUERY_REPEAT + [expansion])
                s_arr, i_arr = self._lexical_index().search(words, depth, allowed)
                rankings["bm25"] = [int(i) for i in i_arr]
                scores["bm25"] = {int(i): float(s) for s, i in zip(s_arr, i_arr, strict=True)}
        if mode == "hybrid":
            ranked = reciprocal_rank_fusion(rankings, weights or HYBRID_WEIGHTS, k=HYBRID_K)
        else:
            ranked = [(i, scores[mode][i]) for i in rankings[mode]]
        if per == "chunk":
            keep = k
            if reranker is not None:
                keep = max(k, rerank_depth)
            elif self.reranker is not None:
                keep = max(k, RERANK_DEPTH)
            ranked = ranked[:keep]
        hits = self._hits(ranked, rankings, scores)
        if per == "document":
            hits = rank_documents(hits, aggregate)
        if reranker is not None and hits:
            head = reranker.rerank(query, hits[:rerank_depth])
            return (head + hits[rerank_depth:])[:k]
        if self.reranker is None or not hits:
            return hits[:k]
        return self._rerank(query, hits[: max(k, RERANK_DEPTH)])[:k]

    def _dense(
        self, vec: np.ndarray, depth: int, allowed: np.ndarray | None, weight: float
    ) -> list[tuple[int, float]]:
        """The ``depth`` best chunks by dense score, best first: ``(1 - weight)`` · the chunk's
        cosine + ``weight`` · its best sentence's. The candidates are the chunk index's top
        ``depth`` and the chunks of the sentence index's top ``depth · SENTENCES_PER_CHUNK``;
        each is scored exactly (the vectors a candidate was not found by are read back)."""
        index = self.vectors.index()
        s_arr, i_arr = index.search(vec, depth, allowed)
        chunk = {int(i): float(s) for s, i in zip(s_arr[0], i_arr[0], strict=True) if i >= 0}
        sentences = self.vectors.sentences()
        if weight <= 0 or len(sentences) == 0:
            return list(chunk.items())
        allowed_sentences = None
        if allowed is not None:
            allowed_sentences = np.asarray(sentences_of(sentences, allowed.tolist())[1], np.int64)
        s_arr, i_arr = sentences.search(vec, depth * SENTENCES_PER_CHUNK, allowed_sentences)
        best: dict[int, float] = {}
        for score, sid in zip(s_arr[0], i_arr[0], strict=True):
            if sid >= 0:
                best.setdefault(int(sid) >> SENTENCE_BITS, float(score))
        found_by_sentence = [c for c in best if c not in chunk]
        if found_by_sentence:
            ids, vectors = index.vectors(found_by_sentence)
            chunk.update(zip(ids.tolist(), (vectors @ vec[0]).tolist(), strict=True))
        owners, ids_of = sentences_of(sentences, [c for c in chunk if c not in best])
        if ids_of:
            _, vectors = sentences.vectors(ids_of)
            for c, score in zip(owners, (vectors @ vec[0]).tolist(), strict=True):
                best[c] = max(best.get(c, score), score)
        blended = {c: (1 - weight) * s + weight * best.get(c, s) for c, s in chunk.items()}
        return sorted(blended.items(), key=lambda item: (-item[1], item[0]))[:depth]

    def encode_queries(self, queries: list[str]) -> None:
        """Encode ``queries`` in one batch and keep their vectors for the next searches (an
        evaluation, or a caller that knows its questions ahead): one encoder call instead of
        one per query and per method. At most ``QUERY_CACHE`` vectors are kept."""
        fresh = [q for q in dict.fromkeys(queries) if q not in self._query_vectors]
        for start in range(0, len(fresh), 256):
            part = fresh[start : start + 256]
            for q, v in zip(part, self.vectors.embedder.encode(part), strict=True):
                self._remember(q, v[None, :])

    def _query_vector(self, query: str) -> np.ndarray:
        cache = self._query_vectors
        if query in cache:
            cache[query] = cache.pop(query)  # most recently used last
            return cache[query]
        vec = np.asarray(self.vectors.embedder.encode([query]))
        self._remember(query, vec)
        return vec

    def _remember(self, query: str, vec: np.ndarray) -> None:
        cache = self._query_vectors
        cache[query] = vec
        while len(cache) > QUERY_CACHE:
            del cache[next(iter(cache))]  # least recently used

    def _rerank(self, query: str, hits: list[Hit]) -> list[Hit]:
        """Rescore the candidates with the configured cross-encoder, best first; each hit keeps
        its fused score under ``scores`` and gets the cross-encoder's as ``scores["rerank"]``."""
        pairs = [(query, passage(h.title, h.text)) for h in hits]
        rescored = [float(x) for x in self.reranker.predict(pairs, show_progress_bar=False)]
        for hit, value in zip(hits, rescored, strict=True):
            hit.scores["rerank"] = value
            hit.score = value
        return sorted(hits, key=lambda h: h.score, reverse=True)

    def _lexical_index(self) -> LexicalIndex:
        with Session(self.engine) as s:
            now = fingerprint(s)
            if self._lexical is None or self._lexical_at != now:
                rows = s.execute(
                    sa.select(ChunkRow.id, ChunkRow.title, ChunkRow.text).order_by(ChunkRow.id)
                ).all()
                self._lexical = LexicalIndex(
                    [r.id for r in rows], [passage(r.title, r.text) for r in rows]
                )
                self._lexical_at = now
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
