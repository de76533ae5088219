"""Candidate changes to the hybrid retriever, each measured on the dev half (and SciFact).

    PYTHONPATH=. python benchmarks/retrieval_candidates.py [--data DIR] [--cache DIR] [--only A,B]

From one indexed store, every query's full dense (cosine to every chunk) and BM25 score vectors
are computed once; each candidate then re-ranks from them, documents ranked at their best chunk
as the store does, and is scored with ir-measures per split (nDCG@10, Recall@100):

* ``rrf`` — the shipped weighted reciprocal rank fusion (top-400 chunk lists, BM25 weight 0.6,
  k = 5);
* ``convex a`` — a convex combination of min-max normalised scores, ``a·dense + (1−a)·bm25``,
  over each method's top-400 chunks (Bruch et al. 2022, "An analysis of fusion functions for
  hybrid retrieval"; a chunk missing from a list scores that list's minimum);
* ``rm3`` — BM25 with RM3-style expansion: the terms of the first-stage (hybrid) top
  ``fb_docs`` documents weighted by their frequency in each and the document's fused score,
  the best ``fb_terms`` added with total weight ``1 − λ`` to the query's own terms (weight λ);
* ``rocchio`` — the dense query moved towards the first-stage top documents' vectors,
  ``q + β·mean(top)`` renormalised;
* ``bm25 k1/b`` — BM25's own parameters;
* ``title`` — title and passage encoded (and BM25-indexed) separately, then combined;
* ``grid`` — the RRF (BM25 weight, k) grid again. Stemming is measured by running the script
  with and without PyStemmer importable (``podium.memory.index.tokenize`` stems when it is).

Nothing here changes the store; the winners are copied into podium/memory/documents/search.py.
"""

from __future__ import annotations

import argparse
import json
import tempfile
from collections import Counter
from pathlib import Path
from typing import Any

import numpy as np

from podium.experts.retrieval.evaluate import build_store, load_beir, measure
from podium.experts.retrieval.splits import split_of
from podium.memory.documents.sync import passage
from podium.memory.index import reciprocal_rank_fusion, tokenize

DATA = Path(__file__).resolve().parents[2] / "shared" / "data" / "retrieval"
DEPTH = 400


class Bench:
    def __init__(self, store: Any, data: Any) -> None:
        import sqlalchemy as sa
        from sqlalchemy.orm import Session

        from podium.memory.tables import ChunkRow, DocumentRow

        self.data = data
        self.qids = list(data.queries)
        with Session(store.engine) as s:
            rows = s.execute(
                sa.select(ChunkRow.id, ChunkRow.title, ChunkRow.text, DocumentRow.source)
                .join(DocumentRow)
                .order_by(ChunkRow.id)
            ).all()
        self.ids = np.asarray([r.id for r in rows], dtype=np.int64)
        self.source = [r.source for r in rows]
        self.texts = [passage(r.title, r.text) for r in rows]
        self.titles = [r.title or "" for r in rows]
        self.bodies = [r.text for r in rows]
        self.embedder = store.embedder
        _, self.vecs = store.vectors.index().vectors(self.ids.tolist())
        store.encode_queries(list(data.queries.values()))
        self.qvecs = np.vstack([store.searcher._query_vector(t) for t in data.queries.values()])
        self.dense = self.qvecs @ self.vecs.T  # queries × chunks
        self.bm25_index = store.searcher._lexical_index()
        assert (self.bm25_index.ids == self.ids).all()
        self.bm25 = self.bm25_scores(self.bm25_index)
        self.tokens = [tokenize(t) for t in self.texts]

    def bm25_scores(self, index: Any) -> np.ndarray:
        out = np.zeros((len(self.qids), len(self.ids)), dtype=np.float32)
        for n, q in enumerate(self.qids):
            toks = [t for t in tokenize(self.data.queries[q]) if t in index._vocab]
            if toks:
                out[n] = index.retriever.get_scores(toks)
        return out

    def documents(self, chunk_scores: np.ndarray, candidates: np.ndarray | None = None) -> list:
        """Documents best first (each at its best chunk) from one query's chunk scores."""
        order = np.argsort(-chunk_scores, kind="stable")
        if candidates is not None:
            order = [i for i in order if candidates[i]]
        return list(dict.fromkeys(self.source[i] for i in order[:DEPTH]))

    def score(self, ranked: dict[str, list[str]]) -> dict[str, float]:
        run = {q: {d: float(len(r) - i) for i, d in enumerate(r[:100])} for q, r in ranked.items()}
        per_q = measure({q: self.data.qrels[q] for q in ranked}, run)
        out = {}
        for split in ("dev", "test", "all"):
            qs = [q for q in ranked if split == "all" or split_of(q) == split]
            out[f"{split} ndcg@10"] = round(float(np.mean([per_q[q]["ndcg@10"] for q in qs])), 4)
        out["all R@100"] = round(float(np.mean([per_q[q]["recall@100"] for q in ranked])), 4)
        return out

    # -- fusion ---------------------------------------------------------------------------

    def top(self, scores: np.ndarray) -> np.ndarray:
        k = min(DEPTH, len(scores))
        idx = np.argpartition(-scores, k - 1)[:k]
        idx = idx[np.argsort(-scores[idx], kind="stable")]
        return idx[scores[idx] > 0] if scores is not None and scores.max() > 0 else idx

    def rrf(self, n: int, dense: np.ndarray, bm25: np.ndarray, w: float = 0.6, k: int = 5) -> list:
        d_top = self.top_dense(dense)
        b_top = self.top(bm25) if bm25.max() > 0 else np.zeros(0, dtype=np.int64)
        fused = reciprocal_rank_fusion(
            {"dense": d_top.tolist(), "bm25": b_top.tolist()}, {"dense": 1.0, "bm25": w}, k=k
        )
        return list(dict.fromkeys(self.source[i] for i, _ in fused))

    def top_dense(self, dense: np.ndarray) -> np.ndarray:
        k = min(DEPTH, len(dense))
        idx = np.argpartition(-dense, k - 1)[:k]
        return idx[np.argsort(-dense[idx], kind="stable")]

    def convex(self, dense: np.ndarray, bm25: np.ndarray, a: float) -> list:
        d_top = self.top_dense(dense)
        b_top = self.top(bm25) if bm25.max() > 0 else np.zeros(0, dtype=np.int64)
        combined = np.zeros(len(dense), dtype=np.float64)
        mask = np.zeros(len(dense), dtype=bool)
        for idx, vec, weight in ((d_top, dense, a), (b_top, bm25, 1 - a)):
            if len(idx) == 0:
                continue
            lo, hi = float(vec[idx].min()), float(vec[idx].max())
            norm = np.zeros(len(dense))
            norm[idx] = (vec[idx] - lo) / (hi - lo) if hi > lo else 1.0
            combined += weight * norm
            mask[idx] = True
        combined[~mask] = -1.0
        return self.documents(combined)

    # -- pseudo-relevance feedback --------------------------------------------------------

    def feedback_chunks(self, first: list[str], fb_docs: int) -> list[int]:
        """The best chunk index of each of the first ``fb_docs`` documents."""
        return [self._best_chunk[d] for d in first[:fb_docs]]

    def rm3(self, n: int, first: list[str], fb_docs: int, fb_terms: int, lam: float) -> np.ndarray:
        q_terms = [t for t in tokenize(self.data.queries[self.qids[n]]) if t in self.vocab]
        weights: Counter[str] = Counter()
        for rank, ci in enumerate(self.feedback_chunks(first, fb_docs)):
            toks = [t for t in self.tokens[ci] if t in self.vocab]
            if not toks:
                continue
            doc_w = 1.0 / (rank + 1)
            for t, c in Counter(toks).items():
                weights[t] += doc_w * c / len(toks)
        total = sum(weights.values()) or 1.0
        expansion = {t: w / total for t, w in weights.most_common(fb_terms)}
        z = sum(expansion.values()) or 1.0
        query_w: Counter[str] = Counter()
        for t in q_terms:
            query_w[t] += lam / max(1, len(q_terms))
        for t, w in expansion.items():
            query_w[t] += (1 - lam) * w / z
        out = np.zeros(len(self.ids), dtype=np.float32)
        for t, w in query_w.items():
            out += w * self.term_scores(t)
        return out

    def term_scores(self, term: str) -> np.ndarray:
        if term not in self._term_cache:
            self._term_cache[term] = np.asarray(
                self.bm25_index.retriever.get_scores([term]), dtype=np.float32
            )
        return self._term_cache[term]

    def rocchio(self, n: int, first: list[str], fb_docs: int, beta: float) -> np.ndarray:
        chunks = self.feedback_chunks(first, fb_docs)
        q = self.qvecs[n] + beta * self.vecs[chunks].mean(axis=0)
        q = q / np.linalg.norm(q)
        return self.vecs @ q

    def prepare_feedback(self) -> None:
        self.vocab = self.bm25_index._vocab
        self._term_cache: dict[str, np.ndarray] = {}
        self._best_chunk: dict[str, int] = {}


def title_vs_body(bench: Bench, show: Any, qn: list[tuple[int, str]]) -> None:
    """Title and passage encoded (and BM25-indexed) separately, then combined."""
    import bm25s

    from podium.memory.index import LexicalIndex

    unique = sorted(set(bench.titles))
    title_vec = dict(zip(unique, bench.embedder.encode(unique), strict=True))
    tv = np.vstack([title_vec[t] for t in bench.titles])
    bv = np.asarray(bench.embedder.encode(bench.bodies))
    d_title, d_body = bench.qvecs @ tv.T, bench.qvecs @ bv.T

    def lexical(texts: list[str]) -> np.ndarray:
        index = LexicalIndex.__new__(LexicalIndex)
        index.ids = bench.ids
        index.retriever = bm25s.BM25()
        index.retriever.index([tokenize(t) or ["\u2205"] for t in texts], show_progress=False)
        index._vocab = index.retriever.vocab_dict
        return bench.bm25_scores(index)

    b_body, b_title = lexical(bench.bodies), lexical(bench.titles)
    show("dense body only", {q: bench.documents(d_body[n]) for n, q in qn})
    show("bm25 body only", {q: bench.documents(b_body[n]) for n, q in qn})
    show("rrf(dense body, bm25 body)", {q: bench.rrf(n, d_body[n], b_body[n]) for n, q in qn})
    for g in (0.1, 0.2, 0.3, 0.5):
        dense_mix = {n: d_body[n] + g * d_title[n] for n, _ in qn}
        dense_mix2 = {n: bench.dense[n] + g * d_title[n] for n, _ in qn}
        bm_mix = {n: b_body[n] + g * b_title[n] for n, _ in qn}
        show("dense body + g·title", {q: bench.documents(dense_mix[n]) for n, q in qn}, g=g)
        show(
            "rrf(dense body + g·title, bm25)",
            {q: bench.rrf(n, dense_mix[n], bench.bm25[n]) for n, q in qn},
            g=g,
        )
        show(
            "rrf(dense + g·title, bm25)",
            {q: bench.rrf(n, dense_mix2[n], bench.bm25[n]) for n, q in qn},
            g=g,
        )
        show(
            "rrf(dense body + g·title, bm25 body + g·title)",
            {q: bench.rrf(n, dense_mix[n], bm_mix[n]) for n, q in qn},
            g=g,
        )


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--data", type=Path, default=DATA)
    parser.add_argument("--cache", type=Path, default=None)
    parser.add_argument("--only", default="")
    args = parser.parse_args()
    only = set(filter(None, args.only.split(",")))
    data = load_beir(args.data)
    with tempfile.TemporaryDirectory() as tmp:
        workdir = args.cache or Path(tmp)
        workdir.mkdir(parents=True, exist_ok=True)
        store = build_store(data, workdir)
        bench = Bench(store, data)
        store.close()
    qn = list(enumerate(bench.qids))

    def show(name: str, ranked: dict[str, list[str]], **params: Any) -> None:
        print(json.dumps({"candidate": name, **params, **bench.score(ranked)}), flush=True)

    show("dense", {q: bench.documents(bench.dense[n]) for n, q in qn})
    show("bm25", {q: bench.documents(bench.bm25[n]) for n, q in qn})
    base = {q: bench.rrf(n, bench.dense[n], bench.bm25[n]) for n, q in qn}
    show("rrf", base, w=0.6, k=5)
    if not only or "grid" in only:
        for w in (0.4, 0.6, 0.8, 1.0, 1.2):
            for k in (5, 10, 30, 60):
                show(
                    "rrf",
                    {q: bench.rrf(n, bench.dense[n], bench.bm25[n], w, k) for n, q in qn},
                    w=w,
                    k=k,
                )
    if not only or "convex" in only:
        for a in (0.3, 0.4, 0.5, 0.6, 0.7, 0.8):
            show("convex", {q: bench.convex(bench.dense[n], bench.bm25[n], a) for n, q in qn}, a=a)
    bench.prepare_feedback()
    # feedback reads each top document's first chunk (its only one on Climate-FEVER)
    first_chunk: dict[str, int] = {}
    for i, src in enumerate(bench.source):
        first_chunk.setdefault(src, i)
    bench._best_chunk = first_chunk
    if not only or "rocchio" in only:
        for fb in (3, 5, 10):
            for beta in (0.25, 0.5, 1.0):
                dense2 = {n: bench.rocchio(n, base[q], fb, beta) for n, q in qn}
                show(
                    "rocchio dense",
                    {q: bench.documents(dense2[n]) for n, q in qn},
                    fb_docs=fb,
                    beta=beta,
                )
                show(
                    "rrf(rocchio dense, bm25)",
                    {q: bench.rrf(n, dense2[n], bench.bm25[n]) for n, q in qn},
                    fb_docs=fb,
                    beta=beta,
                )
    if not only or "rm3" in only:
        for fb in (3, 5, 10):
            for terms in (10, 20):
                for lam in (0.5, 0.7):
                    bm2 = {n: bench.rm3(n, base[q], fb, terms, lam) for n, q in qn}
                    show(
                        "rm3 bm25",
                        {q: bench.documents(bm2[n]) for n, q in qn},
                        fb_docs=fb,
                        terms=terms,
                        lam=lam,
                    )
                    show(
                        "rrf(dense, rm3 bm25)",
                        {q: bench.rrf(n, bench.dense[n], bm2[n]) for n, q in qn},
                        fb_docs=fb,
                        terms=terms,
                        lam=lam,
                    )
    if not only or "title" in only:
        title_vs_body(bench, show, qn)
    if not only or "bm25" in only:
        import bm25s

        from podium.memory.index import LexicalIndex

        for k1, b in ((0.9, 0.4), (1.2, 0.75), (1.5, 0.75), (1.2, 0.3), (2.0, 0.75)):
            index = LexicalIndex.__new__(LexicalIndex)
            index.ids = bench.ids
            index.retriever = bm25s.BM25(k1=k1, b=b)
            index.retriever.index([t or ["\u2205"] for t in bench.tokens], show_progress=False)
            index._vocab = index.retriever.vocab_dict
            bm = bench.bm25_scores(index)
            show("bm25", {q: bench.documents(bm[n]) for n, q in qn}, k1=k1, b=b)
            show(
                "rrf(dense, bm25)",
                {q: bench.rrf(n, bench.dense[n], bm[n]) for n, q in qn},
                k1=k1,
                b=b,
            )


if __name__ == "__main__":
    main()
