"""Query expansion with the ladder: the large model writes a passage per query, the hybrid
search reads it beside the query. Gain on each half of the Climate-FEVER slice, the ``auto``
policy's threshold chosen on the dev half, seconds per expansion, and the calibrated
confidence of expanded searches.

    PODIUM_LLAMA_THREADS=1 PYTHONPATH=. python benchmarks/retrieval_expand.py generate \
        --cache DIR [--shard I/N] [--model local:qwen2.5-coder-1.5b]
    PYTHONPATH=. python benchmarks/retrieval_expand.py measure --cache DIR [--json]

``generate`` writes one passage per query to ``DIR/expansions-<model>-<I>.jsonl`` as it goes
(a rerun resumes; shards let two processes share two cores) with
:class:`~podium.memory.documents.QueryExpander`, the prompt the retrieval expert uses.
``measure`` reads every shard and scores, per query (ir-measures nDCG@10, document level):

* the plain hybrid (the store's default);
* every query expanded, on a grid of the dense weight of the passage and the times the query
  is repeated before it for BM25 (``search.EXPANSION_*``; the shipped values are the dev
  half's best);
* ``auto``: queries expanded only when the plain search's calibrated confidence is below a
  threshold, at each tenth of the dev half's confidences; the threshold is chosen on the dev
  half (``EXPAND_BELOW`` in the expert), the test half is reported beside it;
* a paired bootstrap (5,000 draws) of each chosen arm against the plain hybrid per half, and
  the expected calibration error and AUROC of the expert's confidence, plain and expanded.
"""

from __future__ import annotations

import argparse
import json
import tempfile
import time
from pathlib import Path
from typing import Any

import numpy as np

from podium.experts.retrieval.calibration import RetrievalCalibrator
from podium.experts.retrieval.evaluate import build_store, document_run, load_beir, measure
from podium.experts.retrieval.splits import split_of
from podium.memory.documents import QueryExpander
from podium.memory.documents import search as search_module
from podium.metrics import ece

DATA = Path(__file__).resolve().parents[2] / "shared" / "data" / "retrieval"
DENSE_WEIGHTS = (0.5, 1.0, 2.0)
REPEATS = (0, 1, 3, 5)  # 0: BM25 reads the query alone


def _shard_file(cache: Path, model: str, shard: int) -> Path:
    return cache / f"expansions-{model.replace(':', '_').replace('/', '_')}-{shard}.jsonl"


def generate(data: Any, cache: Path, model: str, shard: int, shards: int) -> None:
    from podium.models.provider import create_chat_model

    out = _shard_file(cache, model, shard)
    lines = out.read_text().splitlines() if out.exists() else []
    done = {json.loads(line)["_id"] for line in lines}
    expander = QueryExpander(create_chat_model(model))
    with out.open("a") as fh:
        for n, (qid, text) in enumerate(sorted(data.queries.items())):
            if n % shards != shard or qid in done:
                continue
            started = time.perf_counter()
            passage = expander.expand(text)
            seconds = round(time.perf_counter() - started, 2)
            fh.write(json.dumps({"_id": qid, "text": passage, "s": seconds}) + "\n")
            fh.flush()


def _expansions(cache: Path, model: str) -> tuple[dict[str, str], list[float]]:
    texts, seconds = {}, []
    prefix = _shard_file(cache, model, 0).name.rsplit("-", 1)[0]
    for path in sorted(cache.glob(f"{prefix}-*.jsonl")):
        for line in path.read_text().splitlines():
            rec = json.loads(line)
            texts[rec["_id"]] = rec["text"]
            seconds.append(float(rec["s"]))
    return texts, seconds


def _bootstrap(diff: np.ndarray, draws: int = 5000) -> list[float]:
    rng = np.random.default_rng(0)
    means = [diff[rng.integers(0, len(diff), len(diff))].mean() for _ in range(draws)]
    return [round(float(np.percentile(means, 2.5)), 4), round(float(np.percentile(means, 97.5)), 4)]


def _auroc(scores: list[float], labels: list[bool]) -> float:
    from sklearn.metrics import roc_auc_score

    return round(float(roc_auc_score(labels, scores)), 3) if 0 < sum(labels) < len(labels) else 0.5


def measure_all(data: Any, cache: Path, model: str) -> dict[str, Any]:
    texts, seconds = _expansions(cache, model)
    qids = [q for q in sorted(data.queries) if q in texts]
    halves = {h: [q for q in qids if split_of(q) == h] for h in ("dev", "test")}
    store = build_store(data, cache / "store")
    calibrator = RetrievalCalibrator.load()
    store.encode_queries([data.queries[q] for q in qids] + [texts[q] for q in qids if texts[q]])
    qrels = {q: data.qrels[q] for q in qids}

    def searched(expanded: bool) -> tuple[dict[str, float], dict[str, float], dict[str, bool]]:
        runs, confidence, top_relevant = {}, {}, {}
        for q in qids:
            hits = store.search(
                data.queries[q], k=100, expansion=texts[q] if expanded and texts[q] else None
            )
            runs[q] = document_run(hits)
            confidence[q] = calibrator.predict(hits[:10])
            top_relevant[q] = bool(hits) and hits[0].source in data.qrels[q]
        per_query = measure(qrels, runs)
        return {q: per_query[q]["ndcg@10"] for q in qids}, confidence, top_relevant

    plain, plain_conf, plain_top = searched(False)
    arms: dict[str, dict[str, float]] = {"plain": plain}
    shipped = (search_module.EXPANSION_DENSE_WEIGHT, search_module.EXPANSION_QUERY_REPEAT)
    expanded_conf: dict[str, float] = {}
    expanded_top: dict[str, bool] = {}
    try:
        for a in DENSE_WEIGHTS:
            for r in REPEATS:
                search_module.EXPANSION_DENSE_WEIGHT, search_module.EXPANSION_QUERY_REPEAT = a, r
                arms[f"expand all a={a} r={r}"], conf, top = searched(True)
                if (a, r) == shipped:
                    expanded_conf, expanded_top = conf, top
    finally:
        search_module.EXPANSION_DENSE_WEIGHT, search_module.EXPANSION_QUERY_REPEAT = shipped

    def mean(arm: dict[str, float], half: str) -> float:
        return round(float(np.mean([arm[q] for q in halves[half]])), 4)

    report: dict[str, Any] = {
        "queries": {h: len(v) for h, v in halves.items()},
        "model": model,
        "seconds_per_expansion": {
            "mean": round(float(np.mean(seconds)), 2),
            "median": round(float(np.median(seconds)), 2),
        },
        "arms": {name: {h: mean(arm, h) for h in halves} for name, arm in arms.items()},
    }
    # auto: expand below a threshold on the plain search's confidence (dev tenths)
    dev_conf = sorted(plain_conf[q] for q in halves["dev"])
    auto: dict[str, Any] = {}
    for name, arm in arms.items():
        if name == "plain":
            continue
        for tenth in range(1, 10):
            t = dev_conf[int(tenth / 10 * len(dev_conf))]
            mixed = {q: arm[q] if plain_conf[q] < t else plain[q] for q in qids}
            auto[f"{name} below {t:.3f}"] = {
                "threshold": round(t, 4),
                **{h: mean(mixed, h) for h in halves},
                "expanded": {
                    h: round(float(np.mean([plain_conf[q] < t for q in halves[h]])), 3)
                    for h in halves
                },
                "per_query": mixed,
            }
    best_all = max((n for n in arms if n != "plain"), key=lambda n: mean(arms[n], "dev"))
    best_auto = max(auto, key=lambda n: auto[n]["dev"])
    chosen = {"expand all (dev best)": (best_all, arms[best_all])}
    chosen[f"auto (dev best): {best_auto}"] = (best_auto, auto[best_auto]["per_query"])
    shipped_name = f"expand all a={shipped[0]} r={shipped[1]}"
    chosen["expand all (shipped weights)"] = (shipped_name, arms[shipped_name])
    report["auto"] = {n: {k: v for k, v in a.items() if k != "per_query"} for n, a in auto.items()}
    report["chosen"] = {}
    for label, (name, arm) in chosen.items():
        entry: dict[str, Any] = {"arm": name}
        for h in halves:
            diff = np.array([arm[q] - plain[q] for q in halves[h]])
            entry[h] = {
                "ndcg@10": mean(arm, h),
                "plain": mean(plain, h),
                "diff": round(float(diff.mean()), 4),
                "ci95": _bootstrap(diff),
                "better": int((diff > 1e-9).sum()),
                "worse": int((diff < -1e-9).sum()),
            }
        report["chosen"][label] = entry
    # The expert's confidence on the test half: plain searches, and searches expanded with
    # the shipped weights (label: the top document is relevant).
    test = halves["test"]
    report["confidence_test"] = {
        "plain": {
            "ece": round(ece([plain_conf[q] for q in test], [plain_top[q] for q in test]), 3),
            "auroc": _auroc([plain_conf[q] for q in test], [plain_top[q] for q in test]),
        },
        "expanded": {
            "ece": round(ece([expanded_conf[q] for q in test], [expanded_top[q] for q in test]), 3),
            "auroc": _auroc([expanded_conf[q] for q in test], [expanded_top[q] for q in test]),
        },
    }
    return report


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("command", choices=["generate", "measure"])
    parser.add_argument("--data", type=Path, default=DATA)
    parser.add_argument("--cache", type=Path, default=Path(tempfile.gettempdir()) / "podium-expand")
    parser.add_argument("--model", default="local:qwen2.5-coder-1.5b")
    parser.add_argument("--shard", default="0/1", help="I/N: this process writes every N-th query")
    parser.add_argument("--json", action="store_true")
    args = parser.parse_args()
    data = load_beir(args.data)
    args.cache.mkdir(parents=True, exist_ok=True)
    if args.command == "generate":
        shard, shards = (int(x) for x in args.shard.split("/"))
        generate(data, args.cache, args.model, shard, shards)
        return
    report = measure_all(data, args.cache, args.model)
    if args.json:
        print(json.dumps(report, indent=1))
        return
    print(f"{report['model']}: {report['queries']}, s/expansion {report['seconds_per_expansion']}")
    for name, halves in report["arms"].items():
        print(f"  {name:28s} dev {halves['dev']:.4f}  test {halves['test']:.4f}")
    for label, entry in report["chosen"].items():
        print(label, "->", json.dumps({h: entry[h] for h in ("dev", "test")}))
    print("confidence on the test half:", json.dumps(report["confidence_test"]))


if __name__ == "__main__":
    main()
