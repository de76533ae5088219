"""NL2SQL on all of ``../shared/data/spider``: each rung of the ladder alone and the cascade.

    python benchmarks/nl2sql_ladder.py run --part large    --out DIR   # 1.5B alone (+ repair)
    python benchmarks/nl2sql_ladder.py run --part drafts   --out DIR   # the 0.5B's three drafts
    python benchmarks/nl2sql_ladder.py run --part more     --out DIR   # a fourth draft
    python benchmarks/nl2sql_ladder.py run --part escalate --out DIR   # few-shot escalation
    python benchmarks/nl2sql_ladder.py run --part smol     --out DIR [--limit 100]  # SmolLM2
    python benchmarks/nl2sql_ladder.py summarise --out DIR

The run is split into parts so that two processes can share the work (one core each) and a
crash loses nothing: every part appends one JSON line per question to ``DIR/<part>.jsonl``
and skips the questions already there when restarted. Questions are taken in a stratified
order (blocks of 50 questions from every database in proportion), so a part stopped early
has a sample of every database,
and ``summarise`` counts only the questions every part it reads has finished.

What each part computes — the same calls the expert makes (``_Run`` in the expert module):

* ``drafts`` — the default cascade's three drafts by the ``small`` role (greedy zero-shot;
  sampled at 0.7 with three examples chosen by the greedy draft's skeleton; sampled with a
  join note). Draft 0 *is* the small model alone (the same prompt as ``zero_shot`` on the
  small model), and the result-set vote over the three is ``vote``.
* ``large`` — the ``large`` role alone, greedy, zero-shot (``zero_shot``); when its query
  fails, finds nothing or has a shape problem (shape.py), also the repair rounds the
  cascade would run after it.
* ``more`` — for the questions whose three drafts are not an agreement that no other draft
  disputes (no two agree, or another draft returned other rows), the fourth draft the expert
  draws then (``more_drafts``); the three recorded drafts are re-run, not redrawn (draws
  are seeded, so they come out the same). Needs the ``drafts`` part (``--follow`` waits).
* ``escalate`` — for the questions whose drafts do not agree, the large model's call as the
  default made it until 2026-12-03 (``escalation_shots=4``): its own query with four examples
  chosen by the question and the greedy draft's skeleton, plus its repair round; the default
  now escalates with the ``large`` part's zero-shot prompt, so ``full`` is read off ``drafts``
  and ``large`` and this part is only the comparison. Needs the ``drafts`` part (``--follow``
  waits).
* ``smol`` — SmolLM2-135M alone with the ``zero_shot`` prompt.

Few-shot examples everywhere: the shipped generic ones plus the Spider questions of the
*other* databases (leave-one-database-out). Seconds are per call, wall time, on a shared
machine: compare them as ratios within one part, not across runs.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import random
import time
from pathlib import Path
from typing import Any

from podium.errors import SQLRefused
from podium.experts.base import ExpertContext
from podium.experts.nl2sql import prompts
from podium.experts.nl2sql.cascade import (
    Attempt,
    after_drafts,
    after_final,
    result_key,
)
from podium.experts.nl2sql.evaluate import _db_path, _is_ordered, _read_dev, same_result
from podium.experts.nl2sql.expert import _SAMPLED, NL2SQLExpert, _Run, run_attempt
from podium.experts.nl2sql.fewshot import ExamplePool
from podium.models.provider import ModelProvider
from podium.tools.sql import Database, QueryFailed

ROOT = Path(__file__).resolve().parents[1]
PARTS = ("large", "drafts", "more", "escalate", "smol")
HARDNESS = ("easy", "medium", "hard", "extra")


def ordered_questions(data: Path, block: int = 50) -> list[dict[str, Any]]:
    """Every question of dev.json with its index, in blocks of ``block`` questions taken
    from every database in proportion (the databases take turns); within a block the
    questions of one database are consecutive, so llama.cpp reuses the schema prefix of the
    previous call instead of processing a new schema for every question."""
    items = [dict(q, idx=i) for i, q in enumerate(_read_dev(data))]
    by_db: dict[str, list[dict[str, Any]]] = {}
    for q in items:
        by_db.setdefault(q["db_id"], []).append(q)
    spread = []  # each database's questions shuffled (fixed seed), spaced over the run
    for qs in by_db.values():
        random.Random(0).shuffle(qs)
        spread += [((j + 0.5) / len(qs), q["idx"], q) for j, q in enumerate(qs)]
    turns = [q for _, _, q in sorted(spread, key=lambda t: t[:2])]
    out: list[dict[str, Any]] = []
    for start in range(0, len(turns), block):
        out += sorted(turns[start : start + block], key=lambda q: q["db_id"])
    return out


def done_ids(path: Path) -> set[int]:
    if not path.is_file():
        return set()
    return {json.loads(line)["idx"] for line in path.read_text().splitlines() if line.strip()}


def read_part(path: Path) -> dict[int, dict[str, Any]]:
    if not path.is_file():
        return {}
    rows = [json.loads(line) for line in path.read_text().splitlines() if line.strip()]
    return {r["idx"]: r for r in rows}


class Scorer:
    """Gold result sets and per-attempt correctness, databases opened once."""

    def __init__(self, data: Path, infer_keys: bool = False) -> None:
        self.data = data
        self.infer_keys = infer_keys
        self.dbs: dict[str, Database] = {}

    def db(self, db_id: str) -> Database:
        if db_id not in self.dbs:
            url = f"sqlite:///{_db_path(self.data, db_id)}"
            self.dbs[db_id] = Database(url, row_cap=100_000, infer_keys=self.infer_keys)
        return self.dbs[db_id]

    def correct(self, item: dict[str, Any], sql: str | None) -> bool:
        if not sql:
            return False
        db = self.db(item["db_id"])
        try:
            gold = db.execute(item["query"]).rows
            pred = db.execute(sql).rows
        except (SQLRefused, QueryFailed):
            return False
        return same_result(gold, pred, ordered=_is_ordered(item["query"]))


def attempt_record(a: Attempt, scorer: Scorer, item: dict[str, Any]) -> dict[str, Any]:
    return {
        **a.public(),
        "rows": a.rows,
        "key": _digest(a),
        "correct": a.status == "ok" and scorer.correct(item, a.sql),
    }


def _digest(a: Attempt) -> str | None:
    """A stable fingerprint of the result set (the cascade's agreement key), or None."""
    if not a.rows or a.result is None:
        return None
    return hashlib.sha1(repr(result_key(a.result)).encode()).hexdigest()[:16]


def run_part(args: argparse.Namespace) -> None:
    part: str = args.part
    out: Path = args.out
    out.mkdir(parents=True, exist_ok=True)
    path = out / (f"{part}-{args.variant}.jsonl" if args.variant else f"{part}.jsonl")
    questions = ordered_questions(args.data)
    if args.db:
        questions = [q for q in questions if q["db_id"] == args.db]
    if args.questions:
        wanted = {int(i) for i in args.questions.read_text().split()}
        questions = [q for q in questions if q["idx"] in wanted]
    if args.limit:
        questions = questions[: args.limit]
    roles: dict[str, str] = {}
    if args.small:
        roles["small"] = args.small
    if args.large:
        roles["large"] = args.large
    if part == "smol":
        roles["large"] = args.smol
    models = ModelProvider(roles)
    ctx = ExpertContext(models=models)
    pool = ExamplePool.with_spider(_read_dev(args.data))
    expert = NL2SQLExpert(drafts=args.drafts, shots=4, pool=pool, strategy="full")
    scorer = Scorer(args.data, infer_keys=args.keys == "inferred")
    done = done_ids(path)
    label = models.label(role="small" if part in ("drafts", "more") else "large")
    print(f"{part}: {label}; {len(done)} of {len(questions)} already done", flush=True)
    for item in questions:
        if item["idx"] in done:
            continue
        db = scorer.db(item["db_id"])
        try:
            db.execute(item["query"])
        except (SQLRefused, QueryFailed) as exc:
            record: dict[str, Any] = {"idx": item["idx"], "gold_failed": str(exc)}
        else:
            record = _one(part, expert, db, item, ctx, scorer, out, args.follow)
            if record is None:
                continue
        record.update(idx=item["idx"], db_id=item["db_id"], model=label)
        with path.open("a", encoding="utf-8") as f:
            f.write(json.dumps(record) + "\n")
        marks = " ".join("ok" if a["correct"] else "--" for a in record.get("attempts", []))
        print(f"  {item['idx']:>4} {item['db_id']:<26} {marks}", flush=True)


def _one(
    part: str,
    expert: NL2SQLExpert,
    db: Database,
    item: dict[str, Any],
    ctx: ExpertContext,
    scorer: Scorer,
    out: Path,
    follow: bool,
) -> dict[str, Any] | None:
    q = item["question"]
    run = _Run(expert, db, q, ctx, item["db_id"])
    if part == "drafts":
        run.cascade(escalate=False, always=False, hints=False)
        decision = after_drafts(run.attempts, quorum=expert.quorum, escalate=True)
        return {
            "attempts": [attempt_record(a, scorer, item) for a in run.attempts],
            "cascade": decision.public(),
        }
    if part == "more":
        drafts_rec = _wait_for(out / "drafts.jsonl", item["idx"], follow)
        if drafts_rec is None:
            return None
        if "gold_failed" in drafts_rec:
            return {"skipped": "gold failed"}
        run.attempts = [
            _rerun(run, a["origin"], a["sql"], a["seconds"]) for a in drafts_rec["attempts"]
        ]
        if after_drafts(run.attempts, quorum=expert.quorum).action == "agreed":
            return {"skipped": "drafts agreed, undisputed"}
        n = len(run.attempts)
        run.call("small", f"draft-{n}", run.draft_prompt(n, []), _SAMPLED, n)
        return {"attempts": [attempt_record(a, scorer, item) for a in run.attempts]}
    if part == "escalate":
        drafts_rec = _wait_for(out / "drafts.jsonl", item["idx"], follow)
        if drafts_rec is None:
            return None
        if "gold_failed" in drafts_rec or drafts_rec["cascade"]["action"] == "agreed":
            return {"skipped": "drafts agreed"}
        # The drafts again as attempts (their SQL re-run, no model call), as `full` sees them.
        run.attempts = [
            _rerun(run, a["origin"], a["sql"], a["seconds"]) for a in drafts_rec["attempts"]
        ]
        examples = run.examples(expert.shots, run.attempts[0].sql)
        messages = prompts.ask(db, run.schema, q, values=run.values, examples=examples)
    else:  # large, smol: the model alone, exactly the zero_shot strategy's prompt
        messages = prompts.ask(db, run.schema, q, values=run.values, examples=[])
    run.call("large", "final", messages, 0.0, 0)
    if part == "smol":  # the model alone, no repair
        run.decide(after_final(run.attempts, max_repairs=0, max_shape_repairs=0))
    else:  # its repair rounds, as the expert runs them (failures, then shape problems)
        run.repairs(messages)
    decisions = [d.public() for d in run.decisions]
    large = [a for a in run.attempts if a.role == "large"]
    record = {
        "attempts": [attempt_record(a, scorer, item) for a in large],
        "decisions": decisions,
    }
    if part == "escalate":
        chosen = decisions[-1]["chosen"]
        a = run.attempts[chosen] if chosen is not None else None
        record["final_correct"] = a is not None and a.status == "ok" and scorer.correct(item, a.sql)
        record["final_origin"] = a.origin if a is not None else None
    return record


def _rerun(run: _Run, origin: str, sql: str, seconds: float) -> Attempt:
    a = run_attempt(run.db, origin, "small", sql)
    a.seconds = seconds
    return a


def _wait_for(path: Path, idx: int, follow: bool) -> dict[str, Any] | None:
    while True:
        rec = read_part(path).get(idx)
        if rec is not None or not follow:
            return rec
        time.sleep(20)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("command", choices=("run", "summarise"))
    parser.add_argument("--part", choices=PARTS)
    parser.add_argument("--out", type=Path, required=True)
    parser.add_argument("--data", type=Path, default=ROOT.parent / "shared/data/spider")
    parser.add_argument("--limit", type=int, default=None, help="first N of the stratified order")
    parser.add_argument("--small", default=None)
    parser.add_argument("--large", default=None)
    parser.add_argument("--smol", default="local:smollm2")
    parser.add_argument("--db", default=None, help="only this database's questions")
    parser.add_argument(
        "--questions", type=Path, default=None, help="only these questions (a file of idx numbers)"
    )
    parser.add_argument("--keys", choices=("declared", "inferred"), default="declared")
    parser.add_argument(
        "--drafts", type=int, default=3, help="drafts: how many the small model writes"
    )
    parser.add_argument("--variant", default="", help="suffix of the part's file (an A/B arm)")
    parser.add_argument("--follow", action="store_true", help="escalate: wait for the drafts")
    args = parser.parse_args()
    if args.command == "run":
        if not args.part:
            parser.error("run needs --part")
        run_part(args)
    else:
        from nl2sql_ladder_report import print_report  # beside this file

        print_report(args.out, args.data)


if __name__ == "__main__":
    main()
