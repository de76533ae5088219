"""What learning from its own runs buys NL2SQL: a history half, then a test half, on Spider.

For each database the questions are split into a history half and a test half *by gold query*
(questions whose gold SQL is the same — Spider's paraphrase pairs — stay in the same half, so
no test question has its twin among the learned examples). The history half runs through the
default strategy (``full``: three small drafts, the large model when they disagree) and each
answer is recorded as a run in a scratch run store; Podium's own harvest turns the answers its
cascade vouched for (a draft quorum, or the large model agreeing with a draft) into verified
examples. No gold SQL is used for learning. The test half is then answered twice: with the
default pool (shipped examples + the other databases' Spider questions, as ``podium eval
nl2sql``), and with that pool plus this database's verified examples.

    PODIUM_LLAMA_THREADS=1 python benchmarks/learning_curve.py --dbs 4 --per-db 20 [--json]
"""

from __future__ import annotations

import argparse
import json
import sys
import tempfile
import time
from collections import defaultdict
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from podium.experts.base import ExpertContext  # noqa: E402
from podium.experts.nl2sql import NL2SQLExpert  # noqa: E402
from podium.experts.nl2sql.evaluate import _is_ordered, _read_dev, same_result  # noqa: E402
from podium.experts.nl2sql.fewshot import ExamplePool  # noqa: E402
from podium.learning.components import pool_examples  # noqa: E402
from podium.learning.examples import ExampleStore  # noqa: E402
from podium.memory.store import RunStore  # noqa: E402
from podium.models.provider import ModelProvider  # noqa: E402
from podium.tools.sql import Database, QueryFailed  # noqa: E402

DATA = ROOT.parent / "shared" / "data" / "spider"
DEFAULT_DBS = (
    "concert_singer",
    "poker_player",
    "orchestra",
    "employee_hire_evaluation",
    "singer",
    "tvshow",
)


def split(items: list[dict[str, str]]) -> tuple[list[dict[str, str]], list[dict[str, str]]]:
    """History and test halves, alternating over groups of questions with the same gold SQL."""
    groups: dict[str, list[dict[str, str]]] = defaultdict(list)
    for item in items:
        groups[" ".join(item["query"].lower().split()).rstrip(";")].append(item)
    history: list[dict[str, str]] = []
    test: list[dict[str, str]] = []
    for i, group in enumerate(groups.values()):
        (history if i % 2 == 0 else test).extend(group)
    return history, test


def answer(
    expert: NL2SQLExpert,
    db: Database,
    item: dict[str, str],
    models: Any,
    db_id: str,
) -> tuple[dict[str, Any], list[dict[str, Any]]]:
    notes: list[dict[str, Any]] = []
    ctx = ExpertContext(models=models, emit=notes.append)
    start = time.perf_counter()
    result = expert.answer(db, item["question"], ctx, source=db_id)
    seconds = time.perf_counter() - start
    sql = (result.output or {}).get("sql") if result.ok else None
    correct = False
    if sql:
        try:
            gold = db.execute(item["query"]).rows
            correct = same_result(gold, db.execute(sql).rows, _is_ordered(item["query"]))
        except QueryFailed:
            correct = False
    row = {
        "db_id": db_id,
        "question": item["question"],
        "sql": sql,
        "correct": correct,
        "large_calls": result.details.get("large_calls", 0),
        "decision": result.details.get("decision", ""),
        "confidence": result.confidence,
        "seconds": round(seconds, 2),
    }
    return {"result": result, **row}, notes


def record(
    store: RunStore,
    run_id: str,
    item: dict[str, str],
    out: dict[str, Any],
    notes: list[dict[str, Any]],
) -> None:
    """The history answer as a one-step run, the way a Podium run stores it."""
    result = out["result"]
    store.start_run(run_id, item["question"])
    seq = iter(range(1, 10_000))
    base = {"run_id": run_id, "ts": time.time()}
    store.record_event(
        {
            **base,
            "seq": next(seq),
            "type": "step_started",
            "step_id": "s1",
            "expert": "nl2sql",
            "input": item["question"],
        }
    )
    for note in notes:
        data = {k: v for k, v in note.items() if k != "kind"}
        store.record_event(
            {
                **base,
                "seq": next(seq),
                "type": "expert_note",
                "step_id": "s1",
                "expert": "nl2sql",
                "kind": note["kind"],
                "data": data,
            }
        )
    store.record_event(
        {
            **base,
            "seq": next(seq),
            "type": "step_finished",
            "step_id": "s1",
            "expert": "nl2sql",
            "status": "ok" if result.ok else "failed",
            "output": result.output,
            "confidence": result.confidence,
            "cost": {},
        }
    )
    store.finish_run(run_id, status="done", answer=None, error=None, cost={})


def summary(rows: list[dict[str, Any]]) -> dict[str, Any]:
    n = len(rows)
    return {
        "n": n,
        "execution_accuracy": round(sum(r["correct"] for r in rows) / n, 3) if n else None,
        "large_share": round(sum(r["large_calls"] > 0 for r in rows) / n, 3) if n else None,
        "mean_s": round(sum(r["seconds"] for r in rows) / n, 2) if n else None,
    }


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--dbs", type=int, default=4)
    ap.add_argument("--per-db", type=int, default=20, help="questions per database (both halves)")
    ap.add_argument("--log", type=Path, default=None, help="append each answer as JSONL here")
    ap.add_argument("--json", action="store_true")
    args = ap.parse_args()

    dev = _read_dev(DATA)
    models = ModelProvider({})
    spider_pool = ExamplePool.with_spider(dev)
    baseline = NL2SQLExpert(pool=spider_pool)  # the default strategy, as `podium eval nl2sql`
    scratch = Path(tempfile.mkdtemp(prefix="podium-learning-"))
    store = RunStore(f"sqlite:///{scratch / 'store.sqlite'}")
    examples = ExampleStore(store)
    log = args.log.open("a", encoding="utf-8") if args.log else None
    phases: dict[str, list[dict[str, Any]]] = {"history": [], "before": [], "after": []}
    learned_counts: dict[str, int] = {}
    for db_id in DEFAULT_DBS[: args.dbs]:
        items = [i for i in dev if i["db_id"] == db_id][: args.per_db]
        history, test = split(items)
        db = Database(
            f"sqlite:///{DATA / 'database' / db_id / (db_id + '.sqlite')}", row_cap=100_000
        )
        for k, item in enumerate(history):
            out, notes = answer(baseline, db, item, models, db_id)
            record(store, f"{db_id}-{k}", item, out, notes)
            examples.harvest(f"{db_id}-{k}")
            phases["history"].append(_keep(out, "history", log))
        mine = [e for e in examples.examples("nl2sql") if e.run_id.startswith(db_id + "-")]
        learned_counts[db_id] = len(mine)
        learned = [
            type(p)(p.question, p.sql, p.source)  # verified:<db> is never excluded
            for p in pool_examples(mine)
        ]
        taught = NL2SQLExpert(pool=ExamplePool([*spider_pool.examples, *learned]))
        for item in test:
            out, _ = answer(baseline, db, item, models, db_id)
            phases["before"].append(_keep(out, "before", log))
            out, _ = answer(taught, db, item, models, db_id)
            phases["after"].append(_keep(out, "after", log))
        db.close()
        print(
            f"{db_id}: {len(history)} history, {len(mine)} verified, {len(test)} test; "
            f"before {summary(phases['before'])} after {summary(phases['after'])}",
            file=sys.stderr,
            flush=True,
        )
    verified = examples.examples("nl2sql")
    right = {(r["db_id"], r["question"]) for r in phases["history"] if r["correct"]}
    report = {
        "models": {"small": models.label(role="small"), "large": models.label(role="large")},
        "history": summary(phases["history"]),
        "verified_examples": len(verified),
        "verified_examples_correct": sum((e.source or _db(e), e.input) in right for e in verified),
        "by_voucher": {v: sum(e.voucher == v for e in verified) for v in ("quorum", "agreement")},
        "learned_per_db": learned_counts,
        "test_before": summary(phases["before"]),
        "test_after": summary(phases["after"]),
    }
    print(json.dumps(report, indent=2) if args.json else report)


def _db(example: Any) -> str:
    return example.run_id.rsplit("-", 1)[0]


def _keep(out: dict[str, Any], phase: str, log: Any) -> dict[str, Any]:
    row = {k: v for k, v in out.items() if k != "result"}
    if log is not None:
        log.write(json.dumps({"phase": phase, **row}) + "\n")
        log.flush()
    return row


if __name__ == "__main__":
    main()
