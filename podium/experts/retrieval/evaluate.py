"""Retrieval evaluation on a BEIR-format folder: BM25, dense and hybrid in the same run.

``corpus.jsonl`` (``_id``, ``title``, ``text``), ``queries.jsonl`` (``_id``, ``text``) and
``qrels/test.tsv`` (``query-id``, ``corpus-id``, ``score``); the corpus may be gzipped
(``corpus.jsonl.gz``). Every corpus document is ingested into a temporary
:class:`DocumentStore` (one record each, the title as its heading — the same path as real
documents take), then each query is searched with every method, ranking documents (a document
cut into several chunks appears once, under its best chunk).

Metrics come from ir-measures (nDCG@10 and R@100 computed by trec_eval's own code through
pytrec_eval, the code BEIR reports with; RR@10 for MRR@10), on a TREC run built at document
level: one score per (query, document), strictly decreasing with our rank so trec_eval's tie
breaking cannot reorder it. A document can therefore earn its gain once, and nDCG stays ≤ 1.

Queries are split in two halves by a hash of their id: ``dev`` (used to choose the fusion
weights and fit the confidence calibrator) and ``test``; metrics are reported on all queries
and on each half so the tuned numbers can be checked on data they were not tuned on.
"""

from __future__ import annotations

import csv
import gzip
import json
import tempfile
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from podium.errors import InputRejected
from podium.memory.documents import DocumentStore, Hit

from .calibration import RetrievalCalibrator
from .splits import split_of

METHODS = ("bm25", "dense", "hybrid")


@dataclass
class BeirData:
    corpus: dict[str, dict[str, str]]
    queries: dict[str, str]
    qrels: dict[str, dict[str, int]]


def load_beir(folder: Path) -> BeirData:
    folder = Path(folder)
    needed = [folder / "corpus.jsonl", folder / "queries.jsonl", folder / "qrels" / "test.tsv"]
    if not needed[0].is_file() and needed[0].with_suffix(".jsonl.gz").is_file():
        needed[0] = needed[0].with_suffix(".jsonl.gz")
    missing = [str(p) for p in needed if not p.is_file()]
    if missing:
        raise InputRejected(
            f"{folder} is not a BEIR folder: missing {', '.join(missing)}",
            hint="it needs corpus.jsonl, queries.jsonl and qrels/test.tsv",
        )
    corpus = {}
    raw = needed[0].read_bytes()
    if needed[0].suffix == ".gz":
        raw = gzip.decompress(raw)
    for line in raw.decode("utf-8").splitlines():
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


MEASURES = {"ndcg@10": "nDCG@10", "recall@100": "R@100", "mrr@10": "RR@10"}


def document_run(hits: list[Hit]) -> dict[str, float]:
    """A TREC run for one query from hits ranked best first: each document once (its first,
    best, appearance), scored ``len - rank`` so the run's order is exactly ours."""
    ranked = list(dict.fromkeys(h.source for h in hits))
    return {doc: float(len(ranked) - i) for i, doc in enumerate(ranked)}


def measure(
    qrels: dict[str, dict[str, int]], run: dict[str, dict[str, float]]
) -> dict[str, dict[str, float]]:
    """Per-query nDCG@10, Recall@100 and MRR@10 of ``run`` (query → document → score) with
    ir-measures; every query of ``qrels`` is scored (one absent from the run scores 0)."""
    import ir_measures

    measures = {name: ir_measures.parse_measure(m) for name, m in MEASURES.items()}
    by_measure = {v: k for k, v in measures.items()}
    out: dict[str, dict[str, float]] = {q: dict.fromkeys(MEASURES, 0.0) for q in qrels}
    full_run = {q: run.get(q) or {} for q in qrels}
    for m in ir_measures.iter_calc(list(measures.values()), qrels, full_run):
        out[m.query_id][by_measure[m.measure]] = float(m.value)
    return out


def build_store(data: BeirData, folder: Path, **kwargs: Any) -> DocumentStore:
    store = DocumentStore(f"sqlite:///{folder / 'eval.sqlite'}", **kwargs)
    store.add_texts(
        {"source": doc_id, "text": doc["text"], "title": doc["title"]}
        for doc_id, doc in data.corpus.items()
    )
    return store


def run_queries(
    store: DocumentStore,
    data: BeirData,
    methods: tuple[str, ...] = METHODS,
    k: int = 100,
    **search: Any,
) -> dict[str, dict[str, list[Hit]]]:
    """Hits per method per query id: the ``k`` best documents (``search`` goes to
    :meth:`DocumentStore.search`, e.g. ``per="chunk"``)."""
    return {
        m: {q: store.search(text, k=k, mode=m, **search) for q, text in data.queries.items()}
        for m in methods
    }


def score_runs(
    runs: dict[str, dict[str, list[Hit]]], data: BeirData, split: str | None = None
) -> dict[str, dict[str, float]]:
    out = {}
    queries = [q for q in data.queries if not split or split_of(q) == split]
    qrels = {q: data.qrels[q] for q in queries}
    for method, by_query in runs.items():
        run = {q: document_run(by_query.get(q, [])) for q in queries}
        per_query = measure(qrels, run)
        out[method] = {
            name: round(float(np.mean([v[name] for v in per_query.values()] or [0.0])), 4)
            for name in MEASURES
        }
        out[method]["queries"] = len(queries)
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
    say = progress or (lambda _msg: None)
    data = load_beir(folder)
    with tempfile.TemporaryDirectory(prefix="podium-eval-") as tmp:
        started = time.perf_counter()
        if workdir:
            Path(workdir).mkdir(parents=True, exist_ok=True)
        store = build_store(data, Path(workdir or tmp))
        ingest_s = time.perf_counter() - started
        say(f"indexed {len(data.corpus)} documents in {ingest_s:.1f} s")
        n = max(1, len(data.queries))
        t0 = time.perf_counter()
        store.encode_queries(list(data.queries.values()))  # one batch, shared by dense/hybrid
        encode_ms = (time.perf_counter() - t0) / n * 1000
        timings = {}
        runs = {}
        for method in METHODS:
            t0 = time.perf_counter()
            runs[method] = run_queries(store, data, (method,))[method]
            # A query's time: its search, plus its share of the batched encoding if it needs it.
            timings[method] = (time.perf_counter() - t0) / n * 1000
            timings[method] += encode_ms if method != "bm25" else 0.0
            say(f"{method}: {len(data.queries)} queries, {timings[method]:.1f} ms/query")
        report_ingest = {
            "seconds": round(ingest_s, 1),
            "documents": len(data.corpus),
            "query_encoding_ms": round(encode_ms, 2),
        }
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
    report["ingest"] = report_ingest
    return report
