"""Reranking the hybrid's top documents with the ladder's 1.5B model: gain and seconds per query.

    PODIUM_LLAMA_THREADS=1 PYTHONPATH=. python benchmarks/retrieval_rerank.py \
        [--data DIR] [--cache DIR] [--sample 80] [--seed 0] [--depth 20] [--out pairs.jsonl]

A fixed sample of the ``test`` half's queries (``--seed``; the order is fixed too, so a run cut
short is a smaller sample of the same draw) is searched with the store's default hybrid; its top
``--depth`` documents are scored pairwise by :class:`LadderReranker` on the ``large`` role's
model. Every pair's score and every query's seconds go to ``--out`` as they are made (a rerun
resumes, skipping what is there). The summary compares nDCG@10 / MRR@10 on the queries done:
first stage, reranked, and reranked with the first-stage order blended in.
"""

from __future__ import annotations

import argparse
import json
import random
import tempfile
import time
from pathlib import Path

import numpy as np

from podium.experts.retrieval.evaluate import build_store, load_beir, measure
from podium.experts.retrieval.splits import split_of
from podium.memory.documents.rerank import LadderReranker
from podium.memory.documents.sync import passage

DATA = Path(__file__).resolve().parents[2] / "shared" / "data" / "retrieval"


def summarise(data, out: Path, depth: int) -> dict:
    done: dict[str, dict] = {}
    for line in out.read_text().splitlines() if out.exists() else []:
        rec = json.loads(line)
        done[rec["query"]] = rec
    queries = [q for q, r in done.items() if len(r["docs"]) == len(r["scores"])]
    qrels = {q: data.qrels[q] for q in queries}
    report: dict = {"queries": len(queries), "depth": depth}
    arms = {"first stage": None, "rerank": 0.0, "rerank + blend 1": 1.0, "rerank + blend 3": 3.0}
    for arm, blend in arms.items():
        run = {}
        for q in queries:
            docs, scores = done[q]["docs"], done[q]["scores"]
            if blend is None:
                order = list(range(len(docs)))
            else:
                order = sorted(
                    range(len(docs)), key=lambda i: (scores[i] + blend / (i + 1), -i), reverse=True
                )
            ranked = [docs[i] for i in order] + done[q]["tail"]
            run[q] = {d: float(len(ranked) - r) for r, d in enumerate(ranked)}
        per_query = measure(qrels, run)
        report[arm] = {
            m: round(float(np.mean([v[m] for v in per_query.values()] or [0.0])), 4)
            for m in ("ndcg@10", "mrr@10")
        }
    # How well the model's score alone separates relevant from other documents, over all pairs
    # read (rank AUROC; 0.5 is chance), beside the first stage's own order as a score.
    labels, model, first = [], [], []
    for q in queries:
        for i, (doc, value) in enumerate(zip(done[q]["docs"], done[q]["scores"], strict=True)):
            labels.append(1 if data.qrels[q].get(doc, 0) > 0 else 0)
            model.append(value)
            first.append(-i)
    report["pairs"] = len(labels)
    report["relevant_pairs"] = int(sum(labels))
    report["pair_auroc"] = {"model": _auroc(labels, model), "first stage": _auroc(labels, first)}
    seconds = [done[q]["seconds"] for q in queries]
    if seconds:
        report["seconds_per_query"] = {
            "mean": round(float(np.mean(seconds)), 2),
            "median": round(float(np.median(seconds)), 2),
            "max": round(float(np.max(seconds)), 2),
        }
    return report


def _auroc(labels: list[int], scores: list[float]) -> float | None:
    pos = [s for s, y in zip(scores, labels, strict=True) if y]
    neg = [s for s, y in zip(scores, labels, strict=True) if not y]
    if not pos or not neg:
        return None
    wins = sum((p > n) + 0.5 * (p == n) for p in pos for n in neg)
    return round(wins / (len(pos) * len(neg)), 4)


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--data", type=Path, default=DATA)
    parser.add_argument("--cache", type=Path, default=None)
    parser.add_argument("--sample", type=int, default=80)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--depth", type=int, default=20)
    parser.add_argument("--split", default="test")
    parser.add_argument("--out", type=Path, default=Path("rerank_pairs.jsonl"))
    parser.add_argument("--summary", action="store_true", help="only summarise --out")
    args = parser.parse_args()
    data = load_beir(args.data)
    if args.summary:
        print(json.dumps(summarise(data, args.out, args.depth), indent=1))
        return
    pool = sorted(q for q in data.queries if split_of(q) == args.split)
    sample = random.Random(args.seed).sample(pool, min(args.sample, len(pool)))
    done = set()
    if args.out.exists():
        done = {json.loads(line)["query"] for line in args.out.read_text().splitlines()}

    from podium.models.provider import ModelProvider

    reranker = LadderReranker(ModelProvider().base_chat(role="large"))
    with tempfile.TemporaryDirectory() as tmp:
        workdir = args.cache or Path(tmp)
        workdir.mkdir(parents=True, exist_ok=True)
        store = build_store(data, workdir)
        store.encode_queries([data.queries[q] for q in sample])
        for n, q in enumerate(sample, 1):
            if q in done:
                continue
            hits = store.search(data.queries[q], k=100, mode="hybrid")
            top = hits[: args.depth]
            t0 = time.perf_counter()
            scores = reranker.scores(data.queries[q], [passage(h.title, h.text) for h in top])
            seconds = time.perf_counter() - t0
            rec = {
                "query": q,
                "docs": [h.source for h in top],
                "scores": [round(s, 4) for s in scores],
                "tail": [h.source for h in hits[args.depth :]],
                "seconds": round(seconds, 2),
            }
            with args.out.open("a") as fh:
                fh.write(json.dumps(rec) + "\n")
            print(f"{n}/{len(sample)} {q}: {seconds:.1f} s", flush=True)
        store.close()
    print(json.dumps(summarise(data, args.out, args.depth), indent=1))


if __name__ == "__main__":
    main()
