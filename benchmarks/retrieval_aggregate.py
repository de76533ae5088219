"""How chunk hits become a document ranking: max vs a reciprocal-rank fusion of the best chunks.

    PYTHONPATH=. python benchmarks/retrieval_aggregate.py [--data DIR] [--cache DIR] [--json]

Each query's top chunks (BM25, dense, hybrid; ``per="chunk"``, 400 deep) are fetched once,
then grouped by document in every way compared: ``max`` (a document ranks at its best chunk)
and ``rrf`` over its best 2, 3 or 5 chunks (Σ 1/(60 + chunk rank)). Metrics are the
evaluation's own (document-level run, ir-measures), on all queries and on the dev/test halves.
``AGGREGATE`` in podium/memory/documents/search.py holds the choice; the ``max`` rows are what
``podium eval retrieval`` reports (same store, same search, grouped the same way; the search
itself reads 400 chunks per method for a top 100 of documents). Seconds per query are those of
the chunk search plus, for dense and hybrid, the query's share of one batched encoding of all
queries; grouping costs microseconds. Default data: benchmarks/data/scifact
(multi-chunk abstracts; on one-chunk-per-document sets every way gives the same ranking).
"""

from __future__ import annotations

import argparse
import json
import tempfile
import time
from pathlib import Path

from podium.experts.retrieval.evaluate import (
    METHODS,
    build_store,
    load_beir,
    run_queries,
    score_runs,
)
from podium.memory.documents import rank_documents

DATA = Path(__file__).resolve().parent / "data" / "scifact"
WAYS = {"max": ("max", 1), "rrf-2": ("rrf", 2), "rrf-3": ("rrf", 3), "rrf-5": ("rrf", 5)}


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--data", type=Path, default=DATA)
    parser.add_argument("--cache", type=Path, default=None)
    parser.add_argument("--json", action="store_true")
    args = parser.parse_args()
    data = load_beir(args.data)
    with tempfile.TemporaryDirectory() as tmp:
        workdir = args.cache or Path(tmp)
        workdir.mkdir(parents=True, exist_ok=True)
        t0 = time.perf_counter()
        store = build_store(data, workdir)
        print(json.dumps({"ingest_s": round(time.perf_counter() - t0, 1), **store.stats()}))
        chunks = {}
        seconds = {}
        t0 = time.perf_counter()
        store.encode_queries(list(data.queries.values()))
        encode_s = (time.perf_counter() - t0) / len(data.queries)
        for method in METHODS:
            t0 = time.perf_counter()
            chunks[method] = run_queries(store, data, (method,), k=400, per="chunk")[method]
            spent = (time.perf_counter() - t0) / len(data.queries)
            seconds[method] = round(spent + (encode_s if method != "bm25" else 0.0), 4)
        print(json.dumps({"s_per_query": seconds}))
        store.close()
    rows = []
    for way, (how, top) in WAYS.items():
        runs = {
            m: {q: rank_documents(hits, how, top=top)[:100] for q, hits in by_q.items()}
            for m, by_q in chunks.items()
        }
        scores = {"all": score_runs(runs, data)}
        scores.update({s: score_runs(runs, data, s) for s in ("dev", "test")})
        for method in METHODS:
            row = {"aggregate": way, "method": method}
            for part, by_method in scores.items():
                for name in ("ndcg@10", "recall@100", "mrr@10"):
                    row[f"{part} {name}"] = by_method[method][name]
            rows.append(row)
    if args.json:
        print(json.dumps(rows))
        return
    for r in rows:
        print(
            f"{r['aggregate']:6} {r['method']:7} nDCG@10 all {r['all ndcg@10']:.4f} "
            f"dev {r['dev ndcg@10']:.4f} test {r['test ndcg@10']:.4f}  "
            f"R@100 {r['all recall@100']:.4f}  MRR@10 {r['all mrr@10']:.4f}"
        )


if __name__ == "__main__":
    main()
