"""Search over a :class:`~podium.memory.documents.DocumentStore`: dense, BM25 and hybrid, with
metadata filters. A mixin so the store stays one object for its users."""

from __future__ import annotations

import fnmatch
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import sqlalchemy as sa
from sqlalchemy.orm import Session

from podium.errors import InputRejected

from .index import LexicalIndex, reciprocal_rank_fusion
from .tables import ChunkRow, DocumentRow

SEARCH_MODES = ("hybrid", "dense", "bm25")
# The hybrid's reciprocal rank fusion: BM25 weight and k chosen as the best nDCG@10 on the dev
# half of the Climate-FEVER retrieval slice (grid in benchmarks/retrieval_fusion.py; every
# weight > 0 beat dense alone on both halves).
HYBRID_WEIGHTS = {"dense": 1.0, "bm25": 0.6}
HYBRID_K = 5
CANDIDATES = 100
# With a cross-encoder configured, this many fused candidates are rescored and reordered.
RERANK_DEPTH = 30


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


class SearchMixin:
    """Needs ``engine``, ``_lock``, ``sync()``, ``embedder``, ``_vector_index()``,
    ``_passage()``, ``_fingerprint()``, ``_lexical`` and ``_lexical_at`` from the store."""

    engine: Any
    _lock: Any
    _lexical: LexicalIndex | None
    _lexical_at: tuple[int, int, int] | None
    embedder: Any
    reranker: Any

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
        depth = max(k, RERANK_DEPTH) if self.reranker is not None else k
        if mode == "hybrid":
            fused = reciprocal_rank_fusion(rankings, weights or HYBRID_WEIGHTS, k=HYBRID_K)
            ranked = fused[:depth]
        else:
            ranked = [(i, scores[mode][i]) for i in rankings[mode][:depth]]
        hits = self._hits(ranked, rankings, scores)
        if self.reranker is None or not hits:
            return hits
        return self._rerank(query, hits)[:k]

    def _rerank(self, query: str, hits: list[Hit]) -> list[Hit]:
        """Rescore the candidates with the configured cross-encoder, best first; each hit keeps
        its fused score under ``scores`` and gets the cross-encoder's as ``scores["rerank"]``."""
        pairs = [(query, self._passage(h.title, h.text)) for h in hits]
        rescored = [float(x) for x in self.reranker.predict(pairs, show_progress_bar=False)]
        for hit, value in zip(hits, rescored, strict=True):
            hit.scores["rerank"] = value
            hit.score = value
        return sorted(hits, key=lambda h: h.score, reverse=True)

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
