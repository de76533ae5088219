"""Retrieval at scale: ingestion throughput, query latency at 10k and 100k chunks, index memory.

    PYTHONPATH=. python benchmarks/retrieval_scale.py [--sizes 10000 100000] [--json]

1. Ingestion: the first ``--ingest-docs`` Climate-FEVER evidence sentences written as Markdown
   files and ingested with ``DocumentStore.ingest`` (parse, chunk, embed with MiniLM, write):
   chunks per second, end to end, on this machine.
2. Scale: embedding 100k texts would take hours on 2 cores, so the scale runs use synthetic
   chunks: clustered unit vectors (384-d, like MiniLM's) and Zipf-distributed word texts, put
   into the same :class:`VectorIndex` (exact up to 20k, IVF above) and :class:`LexicalIndex`
   the store uses. Queries are held-out points of the same clusters (and word samples). For each
   size: p50/p95 of dense, BM25 and hybrid (both + reciprocal rank fusion) search, IVF
   recall@10 against exact search on the same queries, and index memory. The query encoder's
   own time (MiniLM, one query) is measured once and reported beside them.
"""

from __future__ import annotations

import argparse
import json
import sys
import tempfile
import time
from pathlib import Path

import faiss
import numpy as np

from podium.memory.index import LexicalIndex, VectorIndex, reciprocal_rank_fusion

DATA = Path(__file__).resolve().parents[2] / "shared" / "data" / "retrieval"
DIM = 384


def clustered(n: int, rng: np.random.Generator, centres: np.ndarray) -> np.ndarray:
    picks = centres[rng.integers(0, len(centres), n)]
    vecs = picks + rng.normal(scale=0.9 / np.sqrt(DIM), size=(n, DIM))
    return (vecs / np.linalg.norm(vecs, axis=1, keepdims=True)).astype(np.float32)


def words(n: int, rng: np.random.Generator, vocab: np.ndarray, length: int = 30) -> list[str]:
    ranks = np.minimum(rng.zipf(1.3, size=(n, length)), len(vocab)) - 1
    return [" ".join(vocab[r]) for r in ranks]


def percentiles(samples: list[float]) -> dict[str, float]:
    arr = np.asarray(samples) * 1000
    return {
        "p50_ms": round(float(np.percentile(arr, 50)), 2),
        "p95_ms": round(float(np.percentile(arr, 95)), 2),
    }


def scale_run(n: int, queries: int = 300, seed: int = 0) -> dict[str, object]:
    rng = np.random.default_rng(seed)
    centres = rng.normal(size=(max(50, n // 200), DIM))
    vocab = np.asarray([f"w{i}" for i in range(20_000)])
    vecs = clustered(n, rng, centres)
    ids = np.arange(1, n + 1)
    t0 = time.perf_counter()
    index = VectorIndex(DIM)
    for start in range(0, n, 10_000):
        index.add(ids[start : start + 10_000].tolist(), vecs[start : start + 10_000])
    build_s = time.perf_counter() - t0
    t0 = time.perf_counter()
    lexical = LexicalIndex(ids.tolist(), words(n, rng, vocab))
    bm25_build_s = time.perf_counter() - t0
    qvecs = clustered(queries, rng, centres)
    qtexts = words(queries, rng, vocab, length=6)

    exact = faiss.IndexFlatIP(DIM)
    exact.add(vecs)
    _, truth = exact.search(qvecs, 10)
    dense_t, bm25_t, hybrid_t, recalls = [], [], [], []
    for q in range(queries):
        t = time.perf_counter()
        _, found = index.search(qvecs[q : q + 1], 100)
        dense_t.append(time.perf_counter() - t)
        recalls.append(len(set(found[0][:10]) & set(ids[truth[q]])) / 10)
        t = time.perf_counter()
        _, lex = lexical.search(qtexts[q], 100)
        bm25_t.append(time.perf_counter() - t)
        t = time.perf_counter()
        _, found = index.search(qvecs[q : q + 1], 100)
        _, lex = lexical.search(qtexts[q], 100)
        reciprocal_rank_fusion({"dense": found[0].tolist(), "bm25": lex.tolist()})[:10]
        hybrid_t.append(time.perf_counter() - t)
    matrix = lexical.retriever.scores
    bm25_bytes = sum(np.asarray(v).nbytes for v in matrix.values() if hasattr(v, "nbytes"))
    return {
        "chunks": n,
        "index": dict(index.info),
        "vector_build_s": round(build_s, 2),
        "bm25_build_s": round(bm25_build_s, 2),
        "dense": percentiles(dense_t),
        "bm25": percentiles(bm25_t),
        "hybrid": percentiles(hybrid_t),
        "recall@10_vs_exact": round(float(np.mean(recalls)), 4),
        "vector_index_mb": round(index.memory_bytes() / 1e6, 1),
        "bm25_index_mb": round(bm25_bytes / 1e6, 1),
    }


def ingest_run(n_docs: int) -> dict[str, object]:
    from podium.memory.documents import DocumentStore

    lines = DATA.joinpath("corpus.jsonl").read_text().splitlines()[:n_docs]
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp) / "docs"
        folder.mkdir()
        for line in lines:
            rec = json.loads(line)
            folder.joinpath(f"{rec['_id']}.md").write_text(f"# {rec['title']}\n{rec['text']}\n")
        store = DocumentStore(f"sqlite:///{Path(tmp) / 'store.sqlite'}")
        store.embedder.encode(["warm up"])
        report = store.ingest([folder])
        t = time.perf_counter()
        timings = []
        for _ in range(20):
            t = time.perf_counter()
            store.embedder.encode(["does global warming drive polar bears to extinction?"])
            timings.append(time.perf_counter() - t)
        store.close()
    return {
        "files": n_docs,
        "chunks": report.chunks,
        "seconds": round(report.seconds, 2),
        "chunks_per_s": round(report.chunks_per_s, 1),
        "query_encode": percentiles(timings),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", type=int, nargs="*", default=[10_000, 100_000])
    parser.add_argument("--ingest-docs", type=int, default=300)
    parser.add_argument("--json", action="store_true")
    args = parser.parse_args()
    faiss.omp_set_num_threads(1)  # one query at a time: threads only add overhead
    out: dict[str, object] = {}
    if args.ingest_docs:
        out["ingest"] = ingest_run(args.ingest_docs)
        print(json.dumps(out["ingest"]), file=sys.stderr)
    for n in args.sizes:
        out[str(n)] = scale_run(n)
        print(json.dumps(out[str(n)]), file=sys.stderr)
    print(json.dumps(out, indent=None if args.json else 2))


if __name__ == "__main__":
    main()
