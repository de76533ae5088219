"""Search indexes over the store's chunks: FAISS for vectors, bm25s for words, and their fusion.

:class:`VectorIndex` keeps every vector under its chunk id. Up to ``exact_limit`` vectors it
is an exact inner-product index (``IndexIDMap2(IndexFlatIP)``); above it, it becomes an IVF
index (``IndexIVFFlat``, ``nlist ≈ 2·√n``) whose ``nprobe`` is chosen at build time as the
smallest that reaches ``target_recall`` of exact top-10 on sampled queries; that measured recall
is kept in ``info`` and reported by ``podium index rebuild``. IVF (unlike HNSW) supports
removing vectors, which incremental updates and deletes need.

The index is saved as one file (the serialised FAISS index, the id list and its settings in
one ``.npz``) written to a temporary name and renamed, so a crash leaves either the old file or
the new one, never a torn one. The database stays the source of truth: a store compares ids
with the index when it opens and repairs the difference (see ``DocumentStore.sync``).
"""

from __future__ import annotations

import io
import json
import os
import re
from collections.abc import Iterable, Mapping, Sequence
from pathlib import Path
from typing import Any

import faiss
import numpy as np

from .stemming import english_stemmer

_TOKEN = re.compile(r"[a-z0-9]+")


class VectorIndex:
    """Vectors by integer id; exact below ``exact_limit`` vectors, IVF above."""

    def __init__(self, dim: int, *, exact_limit: int = 20_000, target_recall: float = 0.95) -> None:
        self.dim = dim
        self.exact_limit = exact_limit
        self.target_recall = target_recall
        self.index: Any = faiss.IndexIDMap2(faiss.IndexFlatIP(dim))
        self.ids: set[int] = set()
        self.info: dict[str, Any] = {"kind": "exact"}

    @property
    def kind(self) -> str:
        return str(self.info["kind"])

    def __len__(self) -> int:
        return len(self.ids)

    # -- changes --------------------------------------------------------------------------

    def add(self, ids: Sequence[int], vectors: np.ndarray) -> None:
        if len(ids) == 0:
            return
        ids_arr = np.asarray(ids, dtype=np.int64)
        self.remove([i for i in ids_arr.tolist() if i in self.ids])
        self.index.add_with_ids(np.ascontiguousarray(vectors, dtype=np.float32), ids_arr)
        self.ids.update(ids_arr.tolist())
        if self.kind == "exact" and len(self.ids) > self.exact_limit:
            self.rebuild_approximate()
        elif self.kind == "ivf" and len(self.ids) > 4 * int(self.info["built_at"]):
            self.rebuild_approximate()  # lists grew too long for the trained centroids

    def remove(self, ids: Iterable[int]) -> None:
        gone = [i for i in ids if i in self.ids]
        if gone:
            self.index.remove_ids(faiss.IDSelectorBatch(np.asarray(gone, dtype=np.int64)))
            self.ids.difference_update(gone)

    def vectors(self, ids: Sequence[int] | None = None) -> tuple[np.ndarray, np.ndarray]:
        """The stored vectors (all, or those of ``ids``) with their ids."""
        ids_arr = np.asarray(sorted(self.ids) if ids is None else ids, dtype=np.int64)
        if len(ids_arr) == 0:
            return ids_arr, np.zeros((0, self.dim), dtype=np.float32)
        return ids_arr, self.index.reconstruct_batch(ids_arr)

    def rebuild_approximate(self, sample_queries: int = 200, seed: int = 0) -> None:
        """Re-train an IVF index over the current vectors and tune ``nprobe`` for recall."""
        ids, vecs = self.vectors()
        n = len(ids)
        nlist = max(1, min(int(2 * np.sqrt(n)), n // 39))  # faiss wants 39 points per list
        quantizer = faiss.IndexFlatIP(self.dim)
        ivf = faiss.IndexIVFFlat(quantizer, self.dim, nlist, faiss.METRIC_INNER_PRODUCT)
        rng = np.random.default_rng(seed)
        train = vecs[rng.choice(n, size=min(n, 64 * nlist), replace=False)]
        ivf.train(train)
        ivf.set_direct_map_type(faiss.DirectMap.Hashtable)  # type: ignore[attr-defined]
        ivf.add_with_ids(vecs, ids)
        # Queries near the data but not on it: stored vectors moved by noise, renormalised.
        picks = vecs[rng.choice(n, size=min(n, sample_queries), replace=False)]
        queries = picks + rng.normal(scale=0.6 / np.sqrt(self.dim), size=picks.shape)
        queries = (queries / np.linalg.norm(queries, axis=1, keepdims=True)).astype(np.float32)
        exact = faiss.IndexFlatIP(self.dim)
        exact.add(vecs)
        _, truth = exact.search(queries, 10)
        truth_ids = ids[truth]
        nprobe, recall = nlist, 1.0
        for probe in (1, 2, 4, 8, 12, 16, 24, 32, 48, 64, 96, 128, 192, 256):
            if probe >= nlist:
                break
            ivf.nprobe = probe
            _, found = ivf.search(queries, 10)
            r = float(
                np.mean([len(set(f) & set(t)) / 10 for f, t in zip(found, truth_ids, strict=True)])
            )
            if r >= self.target_recall:
                nprobe, recall = probe, r
                break
        ivf.nprobe = nprobe
        self.index = ivf
        self.info = {
            "kind": "ivf",
            "nlist": nlist,
            "nprobe": nprobe,
            "recall@10": round(recall, 4),
            "built_at": n,
        }

    # -- search ---------------------------------------------------------------------------

    def search(
        self, queries: np.ndarray, k: int, allowed: np.ndarray | None = None
    ) -> tuple[np.ndarray, np.ndarray]:
        """Top ``k`` (scores, ids) per query; ``allowed`` restricts to those ids. Missing
        places have id -1."""
        k = max(1, min(k, len(self.ids)))
        queries = np.ascontiguousarray(queries, dtype=np.float32)
        if not self.ids:
            return np.zeros((len(queries), 0), np.float32), np.zeros((len(queries), 0), np.int64)
        params: faiss.SearchParameters | None = None
        if allowed is not None:
            selector = faiss.IDSelectorBatch(np.asarray(allowed, dtype=np.int64))
            if self.kind == "ivf":
                # faiss's generated stubs omit the parameters' keyword arguments.
                params = faiss.SearchParametersIVF(  # type: ignore[call-arg]
                    sel=selector, nprobe=self.index.nprobe
                )
            else:
                params = faiss.SearchParameters(sel=selector)  # type: ignore[call-arg]
        scores, ids = self.index.search(queries, k, params=params)
        return scores, ids

    def memory_bytes(self) -> int:
        return int(faiss.serialize_index(self.index).nbytes)

    # -- persistence ----------------------------------------------------------------------

    def save(self, path: Path, meta: dict[str, Any] | None = None) -> None:
        path.parent.mkdir(parents=True, exist_ok=True)
        buf = io.BytesIO()
        header = {**self.info, "dim": self.dim, **(meta or {})}
        np.savez(
            buf,
            index=faiss.serialize_index(self.index),
            ids=np.asarray(sorted(self.ids), dtype=np.int64),
            meta=np.frombuffer(json.dumps(header).encode(), dtype=np.uint8),
        )
        tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
        with open(tmp, "wb") as fh:
            fh.write(buf.getvalue())
            fh.flush()
            os.fsync(fh.fileno())
        os.replace(tmp, path)

    @classmethod
    def load(cls, path: Path, *, exact_limit: int = 20_000) -> tuple[VectorIndex, dict[str, Any]]:
        with np.load(path) as data:
            meta = json.loads(bytes(data["meta"]).decode())
            index = faiss.deserialize_index(data["index"])
            ids = data["ids"].tolist()
        self = cls(int(meta["dim"]), exact_limit=exact_limit)
        self.index = index
        self.ids = set(ids)
        self.info = {
            k: meta[k] for k in ("kind", "nlist", "nprobe", "recall@10", "built_at") if k in meta
        }
        if self.kind == "ivf":
            self.index.nprobe = int(self.info["nprobe"])
        return self, meta


def tokenize(text: str) -> list[str]:
    """Lower-cased words, English stop words removed, Snowball-stemmed when PyStemmer is there."""
    from bm25s.stopwords import STOPWORDS_EN

    words = [w for w in _TOKEN.findall(text.lower()) if w not in _stopwords(STOPWORDS_EN)]
    stemmer = english_stemmer()
    return stemmer.stemWords(words) if stemmer is not None else words


_STOP: frozenset[str] | None = None


def _stopwords(words: Iterable[str]) -> frozenset[str]:
    global _STOP
    if _STOP is None:
        _STOP = frozenset(words)
    return _STOP


class LexicalIndex:
    """BM25 (bm25s, Lucene scoring) over chunk texts, addressed by chunk id."""

    def __init__(self, ids: Sequence[int], texts: Sequence[str]) -> None:
        import bm25s

        self.ids = np.asarray(ids, dtype=np.int64)
        self.retriever = bm25s.BM25()
        corpus = [tokenize(t) for t in texts]
        self._vocab: dict[str, int] = {}
        if corpus:  # bm25s cannot index an empty corpus: an empty store finds nothing
            # bm25s needs at least one token per document to build its matrix.
            self.retriever.index([c or ["\u2205"] for c in corpus], show_progress=False)
            self._vocab = self.retriever.vocab_dict

    def search(
        self, query: str, k: int, allowed: np.ndarray | None = None
    ) -> tuple[np.ndarray, np.ndarray]:
        """Top ``k`` (scores, ids) for one query; documents that share no word are left out."""
        tokens = [t for t in tokenize(query) if t in self._vocab]
        if not tokens or len(self.ids) == 0:
            return np.zeros(0, np.float32), np.zeros(0, np.int64)
        scores = np.asarray(self.retriever.get_scores(tokens), dtype=np.float32)
        if allowed is not None:
            scores = np.where(np.isin(self.ids, allowed), scores, 0.0)
        k = min(k, int(np.count_nonzero(scores > 0)))
        if k == 0:
            return np.zeros(0, np.float32), np.zeros(0, np.int64)
        top = np.argpartition(-scores, k - 1)[:k]
        top = top[np.argsort(-scores[top], kind="stable")]
        return scores[top], self.ids[top]


def reciprocal_rank_fusion(
    rankings: Mapping[str, Sequence[int]], weights: dict[str, float] | None = None, k: int = 60
) -> list[tuple[int, float]]:
    """Fuse ranked id lists: ``score(d) = Σ_m w_m / (k + rank_m(d))`` (Cormack et al. 2009),
    best first."""
    fused: dict[int, float] = {}
    for method, ranking in rankings.items():
        weight = (weights or {}).get(method, 1.0)
        for rank, doc in enumerate(ranking, start=1):
            fused[doc] = fused.get(doc, 0.0) + weight / (k + rank)
    return sorted(fused.items(), key=lambda item: (-item[1], item[0]))
