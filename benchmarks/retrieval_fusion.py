"""How the hybrid's fusion weights were chosen: a grid on the dev half, checked on the test half.

    PYTHONPATH=. python benchmarks/retrieval_fusion.py [--data DIR] [--cache DIR]

Dense and BM25 top-100 chunk lists are computed once per query; reciprocal rank fusion is then
re-scored for each (BM25 weight, k) pair. The chosen pair is the best on ``dev`` nDCG@10; its
``test`` figure is the honest one. ``HYBRID_WEIGHTS`` in podium/memory/documents/search.py holds it.
"""

from __future__ import annotations

import argparse
import json
import tempfile
from pathlib import Path

import numpy as np

from podium.experts.retrieval.evaluate import (
    build_store,
    load_beir,
    measure,
    run_queries,
)
from podium.experts.retrieval.splits import split_of
from podium.memory.index import reciprocal_rank_fusion

DATA = Path(__file__).resolve().parents[2] / "shared" / "data" / "retrieval"


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--data", type=Path, default=DATA)
    parser.add_argument("--cache", type=Path, default=None)
    args = parser.parse_args()
    data = load_beir(args.data)
    with tempfile.TemporaryDirectory() as tmp:
        workdir = args.cache or Path(tmp)
        workdir.mkdir(parents=True, exist_ok=True)
        store = build_store(data, workdir)
        runs = run_queries(store, data, ("dense", "bm25"), k=100, per="chunk")
        store.close()
    source = {
        h.chunk_id: h.source for by_q in runs.values() for hits in by_q.values() for h in hits
    }
    qrels = data.qrels
    rows = []
    for w_bm25 in (0.0, 0.1, 0.2, 0.3, 0.4, 0.5, 0.6, 0.8, 1.0):
        for k in (5, 10, 30, 60, 100):
            scores: dict[str, list[float]] = {"dev": [], "test": []}
            run = {}
            for q in data.queries:
                fused = reciprocal_rank_fusion(
                    {
                        "dense": [h.chunk_id for h in runs["dense"][q]],
                        "bm25": [h.chunk_id for h in runs["bm25"][q]],
                    },
                    {"dense": 1.0, "bm25": w_bm25},
                    k=k,
                )
                # documents, each once at its best chunk (the search's "max" aggregation)
                ranked = dict.fromkeys(source[i] for i, _ in fused)
                run[q] = {d: float(len(ranked) - r) for r, d in enumerate(ranked)}
            for q, values in measure({q: qrels[q] for q in data.queries}, run).items():
                scores[split_of(q)].append(values["ndcg@10"])
            rows.append(
                {
                    "bm25_weight": w_bm25,
                    "k": k,
                    "dev_ndcg@10": round(float(np.mean(scores["dev"])), 4),
                    "test_ndcg@10": round(float(np.mean(scores["test"])), 4),
                }
            )
    best = max(rows, key=lambda r: r["dev_ndcg@10"])
    for r in rows:
        print(json.dumps(r))
    print("chosen on dev:", json.dumps(best))


if __name__ == "__main__":
    main()
