"""What learning from its own runs buys NL2SQL: a history half, then a test half, on Spider.

For each database the questions are split into a history half and a test half *by gold query*
(questions whose gold SQL is the same — Spider's paraphrase pairs — stay in the same half, so
no test question has its twin among the learned examples); ``--history`` and ``--test`` cap
each half (its first questions in Spider's order). The history half runs through the default
strategy (``full``: three small drafts, the large model when no two agree) and each answer is
recorded as a run in a scratch run store; Podium's own harvest turns the answers its cascade
vouched for (a draft quorum, or the large model agreeing with a draft) into verified examples.
No gold SQL is used for learning. The test half is then answered twice by the same expert in
the same process: with the default pool (shipped examples + the other databases' Spider
questions, as ``podium eval nl2sql``), and with that pool plus this database's verified
examples (as ``podium learn`` attaches them, without its held-back gate).

Resumable: each question's outcome is appended to ``OUT/outcomes.jsonl`` as it finishes (the
history answers with the notes the harvest reads) and every model reply to ``OUT/calls.jsonl``;
a restart with the same ``--out`` skips what is there and rebuilds the scratch store from it.
Model replies are memoised by (model, role, options, messages): the same prompt is answered
once. Decoding is greedy or seeded, so this changes no answer; it means the test half's
*after* pass only pays for the calls whose prompt learning changed (a database's verified
examples are shown to every draft and to the large model, so on a database with any, every
call), and before/after differ only where learning made a difference. To measure a changed
expert against the same before pass, keep the history and before rows of an earlier ``--out``
(a copy) and drop its after rows: only the after pass is answered again.

    PODIUM_LLAMA_THREADS=1 python benchmarks/learning_curve.py --history 6 --test 6 \
        --out /tmp/learning [--dbs concert_singer,singer] [--json]
"""

from __future__ import annotations

import argparse
import hashlib
import json
import math
import sys
import tempfile
import time
from collections import defaultdict
from functools import partial
from pathlib import Path
from typing import Any

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from langchain_core.messages import AIMessage, BaseMessage  # noqa: E402

from podium.experts.base import ExpertContext  # noqa: E402
from podium.experts.nl2sql import NL2SQLExpert  # noqa: E402
from podium.experts.nl2sql.cascade import (  # noqa: E402
    Attempt,
    Decision,
    after_drafts,
    after_final,
    refused_writes,
)
from podium.experts.nl2sql.evaluate import _is_ordered, _read_dev, same_result  # noqa: E402
from podium.experts.nl2sql.expert import run_attempt  # noqa: E402
from podium.experts.nl2sql.fewshot import ExamplePool, PoolExample  # noqa: E402
from podium.learning.components import pool_examples  # noqa: E402
from podium.learning.examples import ExampleStore  # noqa: E402
from podium.memory.store import RunStore  # noqa: E402
from podium.models.provider import ModelProvider  # noqa: E402
from podium.tools.sql import Database, QueryFailed  # noqa: E402

DATA = ROOT.parent / "shared" / "data" / "spider"
KEPT_ROWS = 20  # rows of a history answer kept in the log (the harvest reads only the SQL)


# -- the split ------------------------------------------------------------------------------


def is_correct(db: Database, item: dict[str, str], sql: str | None) -> bool:
    """Whether ``sql`` returns the gold query's result (execution accuracy); no SQL is wrong."""
    if not sql:
        return False
    try:
        gold = db.execute(item["query"]).rows
        return same_result(gold, db.execute(sql).rows, _is_ordered(item["query"]))
    except QueryFailed:
        return False


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


# -- memoised model calls -------------------------------------------------------------------


class _Memo:
    """A model call answered from the replies already seen for the same prompt and options."""

    def __init__(self, runnable: Any, key: list[Any], calls: Calls) -> None:
        self.runnable, self.key, self.calls = runnable, key, calls

    def invoke(self, messages: list[BaseMessage], *args: Any, **kwargs: Any) -> Any:
        digest = hashlib.sha256(
            json.dumps([*self.key, [(m.type, m.content) for m in messages]]).encode()
        ).hexdigest()
        if digest in self.calls.replies:
            self.calls.hits += 1
            return AIMessage(content=self.calls.replies[digest])
        reply = self.runnable.invoke(messages, *args, **kwargs)
        self.calls.add(digest, str(reply.content))
        return reply


class Calls:
    """Model replies by prompt digest, appended to a JSONL file as they arrive."""

    def __init__(self, path: Path | None) -> None:
        self.replies: dict[str, str] = {}
        self.hits = 0
        self.made = 0
        if path is not None and path.exists():
            for line in path.read_text(encoding="utf-8").splitlines():
                with _skip_torn_line():
                    row = json.loads(line)
                    self.replies[row["key"]] = row["content"]
        self.file = path.open("a", encoding="utf-8") if path is not None else None

    def add(self, digest: str, content: str) -> None:
        self.replies[digest] = content
        self.made += 1
        if self.file is not None:
            self.file.write(json.dumps({"key": digest, "content": content}) + "\n")
            self.file.flush()


class MemoProvider(ModelProvider):
    """The model provider, with every tagged model call memoised in ``calls``."""

    def __init__(self, roles: dict[str, Any], calls: Calls) -> None:
        super().__init__(roles)
        self.calls = calls

    def tagged(self, runnable: Any, model: Any, role: str) -> Any:
        options = sorted(getattr(runnable, "kwargs", {}).items())
        key = [self.label(model, role=role), role, options]
        return _Memo(super().tagged(runnable, model, role), key, self.calls)


class _skip_torn_line:
    """A line cut short by a killed process is skipped on restart."""

    def __enter__(self) -> None:
        return None

    def __exit__(self, kind: Any, *_: Any) -> bool:
        return kind is not None and issubclass(kind, json.JSONDecodeError | KeyError)


# -- the pool that shows what it retrieved --------------------------------------------------


class TracedPool(ExamplePool):
    """An example pool that remembers the examples it last returned."""

    def __init__(self, examples: list[PoolExample], vectors: np.ndarray | None = None) -> None:
        super().__init__(examples)
        self.shown: list[list[PoolExample]] = []
        self._given = vectors

    def vectors(self, encoder: Any) -> np.ndarray:
        if self._given is not None and id(encoder) not in self._vectors:
            self._vectors[id(encoder)] = self._given
        return super().vectors(encoder)

    def select(self, question: str, encoder: Any, **kwargs: Any) -> list[PoolExample]:
        chosen = super().select(question, encoder, **kwargs)
        if chosen:
            self.shown.append(chosen)
        return chosen

    def plus(self, extra: list[PoolExample], encoder: Any) -> TracedPool:
        """This pool with ``extra`` added, reusing the embeddings already computed."""
        from podium.experts.nl2sql.fewshot import mask_question

        base = self.vectors(encoder)
        more = (
            np.asarray(encoder.encode([mask_question(e.question) for e in extra]))
            if extra
            else np.zeros((0, base.shape[1]), dtype=base.dtype)
        )
        return TracedPool([*self.examples, *extra], np.concatenate([base, more]))


# -- one question ---------------------------------------------------------------------------


def answer(
    expert: NL2SQLExpert, db: Database, item: dict[str, str], models: Any, db_id: str
) -> dict[str, Any]:
    """One question through the expert: the outcome row (with the notes it emitted)."""
    notes: list[dict[str, Any]] = []
    ctx = ExpertContext(models=models, emit=notes.append)
    pool = expert.pool
    if isinstance(pool, TracedPool):
        pool.shown = []
    start = time.perf_counter()
    result = expert.answer(db, item["question"], ctx, source=db_id)
    seconds = time.perf_counter() - start
    sql = (result.output or {}).get("sql") if result.ok else None
    correct = is_correct(db, item, sql)
    shown = pool.shown if isinstance(pool, TracedPool) else []
    output = dict(result.output or {})
    if isinstance(output.get("rows"), list):
        output["rows"] = output["rows"][:KEPT_ROWS]
    return {
        "db_id": db_id,
        "question": item["question"],
        "gold": item["query"],
        "sql": sql,
        "correct": correct,
        "large_calls": result.details.get("large_calls", 0),
        "decision": result.details.get("decision", ""),
        "confidence": result.confidence,
        "seconds": round(seconds, 2),
        "ok": result.ok,
        "output": output if result.ok else None,
        "attempts": [
            {k: a.get(k) for k in ("origin", "role", "sql", "status")}
            for a in result.details.get("attempts", [])
        ],
        "shown": [[[e.question, e.sql, e.source] for e in group] for group in shown],
        "notes": [n for n in notes if n.get("kind") != "schema_linked"],
    }


# -- history answers recorded by an earlier run ---------------------------------------------


def read_ladder(folder: Path) -> tuple[dict[int, Any], dict[int, Any]]:
    """The ``drafts`` and ``large`` parts of a ``nl2sql_ladder.py`` run, by dev index."""

    def part(name: str) -> dict[int, Any]:
        rows = load_jsonl(folder / f"{name}.jsonl")
        return {r["idx"]: r for r in rows if "attempts" in r}

    return part("drafts"), part("large")


def replay(
    db: Database,
    item: dict[str, Any],
    drafts: dict[str, Any],
    large: dict[str, Any] | None,
    *,
    quorum: int = 2,
    max_repairs: int = 1,
) -> dict[str, Any] | None:
    """The default strategy's answer rebuilt from recorded model output: the three drafts'
    SQL and, when they disagree, the large model's zero-shot query and repair (the prompts
    ``full`` uses). Each query is run again and every decision made again by the cascade's
    own functions, so the notes are the ones a live answer emits. None when the drafts
    disagree and no large-model record is there."""
    attempts: list[Attempt] = []
    notes: list[dict[str, Any]] = []
    decisions: list[Decision] = []

    def add(a: dict[str, Any]) -> None:
        attempt = run_attempt(db, a["origin"], a["role"], a["sql"])
        attempt.seconds = float(a.get("seconds", 0.0))
        attempts.append(attempt)
        notes.append({"kind": "sql_candidate", **attempt.public()})

    def decide(d: Decision) -> Decision:
        decisions.append(d)
        notes.append({"kind": "nl2sql_decision", **d.public()})
        return d

    for a in drafts["attempts"]:
        add(a)
    # The cascade as the recorded history ran it: three drafts, any two agreeing accepted
    # (``outvote``: with three drafts a pair always outnumbers the third). The expert now sends
    # a pair disputed by the third draft to the large model, which the recorded history did not.
    decision = decide(after_drafts(attempts, quorum=quorum, escalate=True, outvote=True))
    if not decision.final:
        if large is None:
            return None
        queue = list(large["attempts"])
        add(queue.pop(0))
        while True:
            decision = decide(after_final(attempts, max_repairs=max_repairs, quorum=quorum))
            if decision.final:
                break
            if not queue:
                return None
            add(queue.pop(0))
    chosen = attempts[decision.chosen] if decision.chosen is not None else None
    ok = chosen is not None and chosen.result is not None and not refused_writes(attempts)
    sql = chosen.sql if ok and chosen is not None else None
    correct = is_correct(db, item, sql)
    output = None
    if ok and chosen is not None and chosen.result is not None:
        output = chosen.result.as_dict()
        output["rows"] = output.get("rows", [])[:KEPT_ROWS]
    return {
        "db_id": item["db_id"],
        "question": item["question"],
        "gold": item["query"],
        "sql": sql,
        "correct": correct,
        "large_calls": sum(a.role == "large" for a in attempts),
        "decision": " -> ".join(d.action for d in decisions),
        "confidence": round(decision.confidence, 3) if ok else 0.0,
        "seconds": round(sum(a.seconds for a in attempts), 2),
        "ok": ok,
        "output": output,
        "attempts": [
            {"origin": a.origin, "role": a.role, "sql": a.sql, "status": a.status} for a in attempts
        ],
        "shown": [],
        "notes": notes,
        "replayed": True,
    }


def record(store: RunStore, run_id: str, row: dict[str, Any]) -> None:
    """A history answer as a one-step run, the way a Podium run stores it."""
    store.start_run(run_id, row["question"])
    seq = iter(range(1, 10_000))
    base = {"run_id": run_id, "ts": time.time(), "step_id": "s1", "expert": "nl2sql"}
    store.record_event({**base, "seq": next(seq), "type": "step_started", "input": row["question"]})
    for note in row["notes"]:
        data = {k: v for k, v in note.items() if k != "kind"}
        store.record_event(
            {**base, "seq": next(seq), "type": "expert_note", "kind": note["kind"], "data": data}
        )
    store.record_event(
        {
            **base,
            "seq": next(seq),
            "type": "step_finished",
            "status": "ok" if row["ok"] else "failed",
            "output": row["output"],
            "confidence": row["confidence"],
            "cost": {},
        }
    )
    store.finish_run(run_id, status="done", answer=None, error=None, cost={})


# -- figures --------------------------------------------------------------------------------


def wilson(k: int, n: int, z: float = 1.96) -> tuple[float, float]:
    """The 95 % Wilson score interval of a proportion k/n."""
    if n == 0:
        return (0.0, 0.0)
    p = k / n
    centre = (p + z * z / (2 * n)) / (1 + z * z / n)
    half = z * math.sqrt(p * (1 - p) / n + z * z / (4 * n * n)) / (1 + z * z / n)
    return (round(max(0.0, centre - half), 3), round(min(1.0, centre + half), 3))


def summary(rows: list[dict[str, Any]]) -> dict[str, Any]:
    n = len(rows)
    right = sum(bool(r["correct"]) for r in rows)
    large = sum(r["large_calls"] > 0 for r in rows)
    return {
        "n": n,
        "right": right,
        "execution_accuracy": round(right / n, 3) if n else None,
        "accuracy_95": wilson(right, n),
        "large": large,
        "large_share": round(large / n, 3) if n else None,
        "large_share_95": wilson(large, n),
        "mean_s": round(sum(r["seconds"] for r in rows) / n, 2) if n else None,
    }


def paired(before: list[dict[str, Any]], after: list[dict[str, Any]]) -> dict[str, int]:
    """How the same test questions changed: right/wrong and large model or not."""
    b = {(r["db_id"], r["question"]): r for r in before}
    out = {"fixed": 0, "broken": 0, "large_saved": 0, "large_added": 0, "changed_sql": 0}
    for r in after:
        was = b.get((r["db_id"], r["question"]))
        if was is None:
            continue
        out["fixed"] += bool(r["correct"]) and not was["correct"]
        out["broken"] += bool(was["correct"]) and not r["correct"]
        out["large_saved"] += was["large_calls"] > 0 and r["large_calls"] == 0
        out["large_added"] += was["large_calls"] == 0 and r["large_calls"] > 0
        out["changed_sql"] += r["sql"] != was["sql"]
    return out


def copied(rows: list[dict[str, Any]]) -> dict[str, int]:
    """Drafts whose SQL is, up to spacing and case, a learned example they were shown (kept:
    a copy for a question like the example's), and copies the expert drew again."""
    shown = copies = 0
    redrawn = sum(n.get("kind") == "nl2sql_copy" for r in rows for n in r["notes"])
    for r in rows:
        learned = {
            _norm(e[1]) for group in r["shown"] for e in group if e[2].startswith("verified:")
        }
        shown += bool(learned)
        copies += any(
            a["role"] == "small" and _norm(a["sql"] or "") in learned for a in r["attempts"]
        )
    return {"shown_learned": shown, "copied_learned": copies, "copies_redrawn": redrawn}


def _norm(sql: str) -> str:
    return " ".join(sql.lower().replace(";", " ").split())


# -- the run --------------------------------------------------------------------------------


def load_jsonl(path: Path) -> list[dict[str, Any]]:
    """The rows of a JSONL file, a line torn by a killed process skipped."""
    rows: list[dict[str, Any]] = []
    if path.exists():
        for line in path.read_text(encoding="utf-8").splitlines():
            with _skip_torn_line():
                rows.append(json.loads(line))
    return rows


def load_outcomes(path: Path) -> dict[tuple[str, str, str], dict[str, Any]]:
    done: dict[tuple[str, str, str], dict[str, Any]] = {}
    for row in load_jsonl(path):
        with _skip_torn_line():
            done[(row["phase"], row["db_id"], row["question"])] = row
    return done


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--dbs", default="", help="comma-separated db ids (default: all ten)")
    ap.add_argument(
        "--history",
        type=int,
        default=6,
        help="history answers per database: answered here up to this many (with "
        "--history-from: every recorded one, then live ones up to this many)",
    )
    ap.add_argument("--test", type=int, default=6, help="test questions per database")
    ap.add_argument(
        "--history-from",
        type=Path,
        default=None,
        help="a nl2sql_ladder.py run folder: the history half is rebuilt from its drafts "
        "and large parts instead of being answered again",
    )
    ap.add_argument("--out", type=Path, default=None, help="folder for the resumable logs")
    ap.add_argument(
        "--report",
        action="store_true",
        help="only the figures of what --out already holds (a run stopped part-way)",
    )
    ap.add_argument("--json", action="store_true")
    args = ap.parse_args()

    dev = [dict(item, idx=i) for i, item in enumerate(_read_dev(DATA))]
    by_db: dict[str, list[dict[str, Any]]] = defaultdict(list)
    for item in dev:
        by_db[item["db_id"]].append(item)
    dbs = [d for d in args.dbs.split(",") if d] or sorted(by_db, key=lambda d: len(by_db[d]))
    out = args.out or Path(tempfile.mkdtemp(prefix="podium-learning-"))
    out.mkdir(parents=True, exist_ok=True)
    done = load_outcomes(out / "outcomes.jsonl")
    log = (out / "outcomes.jsonl").open("a", encoding="utf-8")
    calls = Calls(out / "calls.jsonl")
    models = MemoProvider({}, calls)
    encoder = models.embedder()
    spider_pool = TracedPool(ExamplePool.with_spider(dev).examples)
    # The three-draft cascade, as the recorded history half ran it and BENCHMARKS reports it
    # (the default draws a fourth draft since the 18th session: `more_drafts=1`).
    expert = NL2SQLExpert(pool=spider_pool, more_drafts=0)
    scratch = Path(tempfile.mkdtemp(prefix="podium-learning-store-"))
    store = RunStore(f"sqlite:///{scratch / 'store.sqlite'}")
    examples = ExampleStore(store)
    ladder = read_ladder(args.history_from) if args.history_from else None
    phases: dict[str, list[dict[str, Any]]] = {"history": [], "before": [], "after": []}

    def outcome(phase: str, db_id: str, item: dict[str, Any], make: Any) -> dict[str, Any] | None:
        row = done.get((phase, db_id, item["question"]))
        if row is None and args.report and not (phase == "history" and ladder is not None):
            return None  # not answered yet: nothing is asked of a model in a report
        if row is None:
            made = make()
            if made is None:
                return None
            row = {"phase": phase, **made}
            log.write(json.dumps(row) + "\n")
            log.flush()
        phases[phase].append(row)
        return row

    databases = {
        db_id: Database(
            f"sqlite:///{DATA / 'database' / db_id / (db_id + '.sqlite')}", row_cap=100_000
        )
        for db_id in dbs
    }
    halves = {db_id: split(by_db[db_id]) for db_id in dbs}
    taught: dict[str, TracedPool] = {}
    learned_counts: dict[str, int] = {}
    for db_id in dbs:
        db, history = databases[db_id], halves[db_id][0]
        expert.pool = spider_pool
        kept = 0

        def keep(row: dict[str, Any] | None, name: str = db_id) -> None:
            nonlocal kept
            if row is not None:
                run_id = f"{name}-{kept}"
                record(store, run_id, row)
                examples.harvest(run_id)
                kept += 1

        live = list(history)
        if ladder is not None:  # every recorded answer first, then live ones up to --history
            recorded = [i for i in history if i["idx"] in ladder[0]]
            live = [i for i in history if i["idx"] not in ladder[0]]
            for item in recorded:
                drafts, large = ladder[0][item["idx"]], ladder[1].get(item["idx"])
                keep(outcome("history", db_id, item, partial(replay, db, item, drafts, large)))
        for item in live:
            if kept >= args.history:
                break
            keep(outcome("history", db_id, item, partial(answer, expert, db, item, models, db_id)))
        mine = [e for e in examples.examples("nl2sql") if e.run_id.startswith(db_id + "-")]
        learned_counts[db_id] = len(mine)
        learned = [  # verified:<db> is never excluded as "the database asked about"
            PoolExample(p.question, p.sql, f"verified:{db_id}") for p in pool_examples(mine)
        ]
        taught[db_id] = spider_pool.plus(learned, encoder)
        print(
            f"{time.strftime('%H:%M:%S')} {db_id}: {kept} history answers, {len(mine)} verified",
            file=sys.stderr,
            flush=True,
        )

    # The test halves, one question of each database in turn: stopped at any point, the
    # figures cover every database.
    tests = {db_id: halves[db_id][1][: args.test] for db_id in dbs}
    for k in range(max((len(t) for t in tests.values()), default=0)):
        for db_id in dbs:
            if k >= len(tests[db_id]):
                continue
            db, item = databases[db_id], tests[db_id][k]
            ask = partial(answer, expert, db, item, models, db_id)
            expert.pool = spider_pool
            if outcome("before", db_id, item, ask):
                expert.pool = taught[db_id]
                if not outcome("after", db_id, item, ask):
                    phases["before"].pop()  # a report counts only questions with both passes
        print(
            f"{time.strftime('%H:%M:%S')} round {k + 1}: before {summary(phases['before'])} "
            f"after {summary(phases['after'])} ({calls.made} model calls made, {calls.hits} "
            "answered from the memo)",
            file=sys.stderr,
            flush=True,
        )
    for db in databases.values():
        db.close()
    verified = examples.examples("nl2sql")
    right = {(r["db_id"], r["question"]) for r in phases["history"] if r["correct"]}
    report = {
        "models": {"small": models.label(role="small"), "large": models.label(role="large")},
        "databases": dbs,
        "history": summary(phases["history"]),
        "history_replayed": sum(bool(r.get("replayed")) for r in phases["history"]),
        "verified_examples": len(verified),
        "verified_examples_correct": sum((_db(e), e.input) in right for e in verified),
        "by_voucher": {v: sum(e.voucher == v for e in verified) for v in ("quorum", "agreement")},
        "learned_per_db": learned_counts,
        "test_before": summary(phases["before"]),
        "test_after": summary(phases["after"]),
        "paired": paired(phases["before"], phases["after"]),
        "after_retrieval": copied(phases["after"]),
        "per_db": {
            db_id: {
                "learned": learned_counts[db_id],
                "before": _brief(phases["before"], db_id),
                "after": _brief(phases["after"], db_id),
            }
            for db_id in dbs
        },
        "model_calls": {"made": calls.made, "from_memo": calls.hits},
    }
    print(json.dumps(report, indent=2) if args.json else report)


def _brief(rows: list[dict[str, Any]], db_id: str) -> str:
    mine = [r for r in rows if r["db_id"] == db_id]
    right = sum(bool(r["correct"]) for r in mine)
    large = sum(r["large_calls"] > 0 for r in mine)
    return f"{right}/{len(mine)} right, large model on {large}"


def _db(example: Any) -> str:
    return str(example.run_id).rsplit("-", 1)[0]


if __name__ == "__main__":
    main()
