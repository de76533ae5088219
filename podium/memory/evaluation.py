"""Retrieval evaluation on a BEIR-format folder: BM25, dense and hybrid in the same run.

``corpus.jsonl`` (``_id``, ``title``, ``text``), ``queries.jsonl`` (``_id``, ``text``) and
``qrels/test.tsv`` (``query-id``, ``corpus-id``, ``score``). Every corpus document is ingested
into a temporary :class:`DocumentStore` (one record each, the title as its heading — the same
path as real documents take), then each query is searched with every method. Metrics follow
BEIR / trec_eval: nDCG@10 with graded gains and log2 discount, Recall@100, MRR@10.

Queries are split in two halves by a hash of their id: ``dev`` (used to choose the fusion
weights and fit the confidence calibrator) and ``test``; metrics are reported on all queries
and on each half so the tuned numbers can be checked on data they were not tuned on.
"""

from __future__ import annotations

import csv
import hashlib
import json
import math
import tempfile
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from podium.errors import InputRejected

from .documents import DocumentStore, Hit

METHODS = ("bm25", "dense", "hybrid")


@dataclass
class BeirData:
    corpus: dict[str, dict[str, str]]
    queries: dict[str, str]
    qrels: dict[str, dict[str, int]]


def load_beir(folder: Path) -> BeirData:
    folder = Path(folder)
    needed = [folder / "corpus.jsonl", folder / "queries.jsonl", folder / "qrels" / "test.tsv"]
    missing = [str(p) for p in needed if not p.is_file()]
    if missing:
        raise InputRejected(
            f"{folder} is not a BEIR folder: missing {', '.join(missing)}",
            hint="it needs corpus.jsonl, queries.jsonl and qrels/test.tsv",
        )
    corpus = {}
    for line in needed[0].read_text(encoding="utf-8").splitlines():
        if line.strip():
            rec = json.loads(line)
            corpus[str(rec["_id"])] = {"title": rec.get("title", ""), "text": rec["text"]}
    queries = {}
    for line in needed[1].read_text(encoding="utf-8").splitlines():
        if line.strip():
            rec = json.loads(line)
            queries[str(rec["_id"])] = rec["text"]
    qrels: dict[str, dict[str, int]] = {}
    with needed[2].open(encoding="utf-8") as fh:
        for row in csv.DictReader(fh, delimiter="\t"):
            if int(row["score"]) > 0:
                qrels.setdefault(row["query-id"], {})[row["corpus-id"]] = int(row["score"])
    queries = {q: t for q, t in queries.items() if q in qrels}
    return BeirData(corpus, queries, qrels)


def split_of(query_id: str) -> str:
    """``dev`` or ``test``: a stable half split by hash of the query id."""
    return "dev" if hashlib.sha1(query_id.encode()).digest()[0] % 2 == 0 else "test"


def ndcg_at(ranked: list[str], relevant: dict[str, int], k: int = 10) -> float:
    dcg = sum(relevant.get(doc, 0) / math.log2(i + 2) for i, doc in enumerate(ranked[:k]))
    ideal = sorted(relevant.values(), reverse=True)[:k]
    idcg = sum(g / math.log2(i + 2) for i, g in enumerate(ideal))
    return dcg / idcg if idcg else 0.0


def recall_at(ranked: list[str], relevant: dict[str, int], k: int = 100) -> float:
    return len(set(ranked[:k]) & set(relevant)) / len(relevant) if relevant else 0.0


def mrr_at(ranked: list[str], relevant: dict[str, int], k: int = 10) -> float:
    return next((1.0 / (i + 1) for i, d in enumerate(ranked[:k]) if d in relevant), 0.0)


def build_store(data: BeirData, folder: Path, **kwargs: Any) -> DocumentStore:
    store = DocumentStore(f"sqlite:///{folder / 'eval.sqlite'}", **kwargs)
    store.add_texts(
        {"source": doc_id, "text": doc["text"], "title": doc["title"]}
        for doc_id, doc in data.corpus.items()
    )
    return store


def run_queries(
    store: DocumentStore, data: BeirData, methods: tuple[str, ...] = METHODS, k: int = 100
) -> dict[str, dict[str, list[Hit]]]:
    """Hits per method per query id."""
    return {
        m: {q: store.search(text, k=k, mode=m) for q, text in data.queries.items()} for m in methods
    }


def score_runs(
    runs: dict[str, dict[str, list[Hit]]], data: BeirData, split: str | None = None
) -> dict[str, dict[str, float]]:
    out = {}
    for method, by_query in runs.items():
        rows = []
        for q, hits in by_query.items():
            if split and split_of(q) != split:
                continue
            ranked = [h.source for h in hits]
            rel = data.qrels[q]
            rows.append((ndcg_at(ranked, rel), recall_at(ranked, rel), mrr_at(ranked, rel)))
        arr = np.asarray(rows) if rows else np.zeros((1, 3))
        out[method] = {
            "ndcg@10": round(float(arr[:, 0].mean()), 4),
            "recall@100": round(float(arr[:, 1].mean()), 4),
            "mrr@10": round(float(arr[:, 2].mean()), 4),
            "queries": len(rows),
        }
    return out


def evaluate(
    folder: Path,
    *,
    progress: Callable[[str], None] | None = None,
    calibrator: Any = None,
    workdir: Path | None = None,
) -> dict[str, Any]:
    """The ``podium eval retrieval`` report (see the module docstring). ``workdir`` keeps the
    indexed corpus between runs (unchanged documents are not embedded again)."""
    from .calibration import RetrievalCalibrator

    say = progress or (lambda _msg: None)
    data = load_beir(folder)
    with tempfile.TemporaryDirectory(prefix="podium-eval-") as tmp:
        started = time.perf_counter()
        if workdir:
            Path(workdir).mkdir(parents=True, exist_ok=True)
        store = build_store(data, Path(workdir or tmp))
        ingest_s = time.perf_counter() - started
        say(f"indexed {len(data.corpus)} documents in {ingest_s:.1f} s")
        timings = {}
        runs = {}
        for method in METHODS:
            t0 = time.perf_counter()
            runs[method] = run_queries(store, data, (method,))[method]
            timings[method] = (time.perf_counter() - t0) / max(1, len(data.queries)) * 1000
            say(f"{method}: {len(data.queries)} queries, {timings[method]:.1f} ms/query")
        store.close()
    report: dict[str, Any] = score_runs(runs, data)
    for method in METHODS:
        report[method]["ms_per_query"] = round(timings[method], 2)
    report["best"] = max(METHODS, key=lambda m: (report[m]["ndcg@10"], m == "hybrid"))
    report["splits"] = {s: score_runs(runs, data, s) for s in ("dev", "test")}
    calibrator = calibrator or RetrievalCalibrator.load()
    report["calibration"] = calibrator.assess(runs["hybrid"], data.qrels)
    report["dataset"] = {
        "path": str(folder),
        "documents": len(data.corpus),
        "queries": len(data.queries),
        "judgements": sum(len(v) for v in data.qrels.values()),
    }
    return report
