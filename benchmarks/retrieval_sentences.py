"""How much a chunk's best sentence should count in its dense score: nDCG@10 per split.

    PYTHONPATH=. python benchmarks/retrieval_sentences.py [--data DIR] [--workdir DIR]
        [--first N] [--json]

Ingests a BEIR folder (default: the SciFact set in benchmarks/data/scifact) into one store
(``--workdir`` keeps it between runs) and searches every query with BM25 once and with dense
and hybrid at each sentence weight of the grid: a chunk's dense score is ``(1 - w)`` · its own
cosine + ``w`` · its best sentence's (``w = 0``: the chunk's own vector alone, which is the
normalised mean of its sentences' vectors since 2026-12-04, the passage encoded whole before).
All arms read the same store and the same query vectors in one process. The weight is chosen by
hybrid nDCG@10 on the ``dev`` half only (the best weight of each method there is reported; the
shipped ``SENTENCE_WEIGHT`` and why are in podium/memory/documents/search.py); the ``test`` half
is reported beside it. ``--first 1200`` keeps the first 1,200 documents in corpus order plus every
document judged relevant (BENCHMARKS.md's SciFact subset: 1,411 of 5,183, all queries).
"""

from __future__ import annotations

import argparse
import json
import tempfile
import time
from pathlib import Path
from typing import Any

from podium.experts.retrieval.evaluate import (
    BeirData,
    build_store,
    load_beir,
    run_queries,
    score_runs,
)
from podium.memory.documents import DocumentStore

DATA = Path(__file__).resolve().parent / "data" / "scifact"
WEIGHTS = (0.0, 0.5, 0.6, 0.7, 0.8, 0.9, 1.0)
SPLITS = ("dev", "test", None)


def ndcg(runs: dict[str, Any], data: BeirData) -> dict[str, dict[str, float]]:
    """nDCG@10 per method per split (``all`` for every query)."""
    out: dict[str, dict[str, float]] = {}
    for split in SPLITS:
        for method, scores in score_runs(runs, data, split).items():
            out.setdefault(method, {})[split or "all"] = scores["ndcg@10"]
    return out


def subset(data: BeirData, first: int) -> BeirData:
    """The first ``first`` documents in corpus order plus every document judged relevant."""
    judged = {doc for docs in data.qrels.values() for doc in docs}
    keep = [d for i, d in enumerate(data.corpus) if i < first or d in judged]
    return BeirData({d: data.corpus[d] for d in keep}, data.queries, data.qrels)


def sweep(
    store: DocumentStore, data: BeirData, weights: tuple[float, ...] = WEIGHTS
) -> dict[str, Any]:
    """BM25 once, then dense and hybrid at every weight; each method's best weight on dev."""
    store.encode_queries(list(data.queries.values()))
    report: dict[str, Any] = {"bm25": ndcg(run_queries(store, data, ("bm25",)), data)["bm25"]}
    arms: dict[str, Any] = {}
    for w in weights:
        t0 = time.perf_counter()
        runs = run_queries(store, data, ("dense", "hybrid"), sentence_weight=w)
        arms[str(w)] = ndcg(runs, data)
        arms[str(w)]["ms_per_query"] = round(
            (time.perf_counter() - t0) / max(1, len(data.queries)) / 2 * 1000, 2
        )
    report["weights"] = arms
    report["best_on_dev"] = {
        m: max(weights, key=lambda w: (arms[str(w)][m]["dev"], -w)) for m in ("dense", "hybrid")
    }
    report["queries"] = len(data.queries)
    report["documents"] = len(data.corpus)
    return report


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--data", type=Path, default=DATA)
    parser.add_argument("--workdir", type=Path, default=None)
    parser.add_argument("--first", type=int, default=None, help="a subset: see above")
    parser.add_argument("--json", action="store_true")
    args = parser.parse_args()
    data = load_beir(args.data)
    if args.first is not None:
        data = subset(data, args.first)
    with tempfile.TemporaryDirectory(prefix="podium-sentences-") as tmp:
        folder = args.workdir or Path(tmp)
        folder.mkdir(parents=True, exist_ok=True)
        store = build_store(data, folder)
        report = sweep(store, data)
        report["stats"] = {k: store.stats()[k] for k in ("documents", "chunks", "vectors")}
        report["stats"]["sentence_vectors"] = len(store.vectors.sentences())
        store.close()
    if args.json:
        print(json.dumps(report))
        return
    print(f"BM25: {report['bm25']}")
    for w, arm in report["weights"].items():
        print(f"w={w}: dense {arm['dense']}  hybrid {arm['hybrid']}  {arm['ms_per_query']} ms/q")
    print(f"best on dev: {report['best_on_dev']}")


if __name__ == "__main__":
    main()
