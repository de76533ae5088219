"""Execution accuracy of the NL2SQL strategies on a Spider-format folder.

The folder holds ``dev.json`` (a list of ``{db_id, question, query}``) and
``database/<db_id>/<db_id>.sqlite``. A prediction is correct when its result is the gold
query's as Spider's official execution match reads it (test-suite-sql-eval's ``result_eq``,
the metric published figures use): the same bag of rows, or the same sequence when the gold
query orders its result (top-level ``ORDER BY``), **up to the order of the columns**, with
``DISTINCT`` taken out of both queries ("count of employees per city" may give the city
first or the count first). ``correct_strict`` also holds the columns in the gold query's order
and keeps ``DISTINCT``: Podium's figure before the 15th session. Floats are compared to 4
decimals in both. ``limit=N`` takes a sample
stratified by database (every database is seen, in proportion to its questions; the
databases take turns, so a run stopped early has seen each of them).

Few-shot examples come from the shipped generic examples and the folder's questions of the
*other* databases (leave-one-database-out). Several strategies are scored from one pass: each
question's small drafts, large zero-shot, large few-shot and large finalisation are computed
once, and each strategy is read off the calls it would make itself (``full`` takes the
finalisation only when its drafts disagree); its seconds are the sum of those calls' own
times. ``small_zero_shot`` (the small model alone) is draft 0, the same prompt as
``zero_shot`` on the small model.
"""

from __future__ import annotations

import json
import statistics
from collections import Counter, defaultdict
from collections.abc import Callable, Iterator
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import sqlglot
from sqlglot import exp

from podium.errors import ConfigError, SQLRefused
from podium.experts.base import ExpertContext
from podium.models.provider import ModelProvider
from podium.tools.sql import Database, QueryFailed

from .cascade import Attempt, Decision, after_drafts
from .expert import STRATEGIES, NL2SQLExpert, _Run
from .fewshot import ExamplePool

EVAL_STRATEGIES: tuple[str, ...] = ("small_zero_shot", *STRATEGIES)


@dataclass
class ItemOutcome:
    strategy: str
    db_id: str
    question: str
    gold: str
    predicted: str | None
    correct: bool  # Spider's official execution match (module doc)
    valid: bool
    large_calls: int
    seconds: float
    decision: str
    confidence: float
    correct_strict: bool = False  # columns in the gold query's order, DISTINCT kept


@dataclass
class EvalReport:
    strategy: str
    n: int
    execution_accuracy: float
    execution_accuracy_strict: float
    valid_sql_rate: float
    large_calls_per_question: float
    large_share: float  # questions with at least one large-model call
    median_s: float
    p95_s: float
    mean_s: float
    gold_failed: int
    small: str
    large: str
    decisions: dict[str, int] = field(default_factory=dict)
    by_db: dict[str, dict[str, float]] = field(default_factory=dict)
    items: list[ItemOutcome] = field(default_factory=list)

    def as_dict(self, items: bool = False) -> dict[str, Any]:
        out = asdict(self)
        if not items:
            out.pop("items")
        return out


def load_questions(data: Path, limit: int | None = None) -> list[dict[str, str]]:
    """The questions of ``data/dev.json``, checked; with ``limit``, a sample stratified by
    database (each database's share rounded, at least one each, evenly spaced in its list)."""
    items = _read_dev(data)
    if limit is not None:
        if limit < 1:
            raise ConfigError("--limit must be at least 1")
        if limit < len(items):
            items = _stratified(items, limit)
    for db_id in {i["db_id"] for i in items}:
        if not _db_path(data, db_id).is_file():
            raise ConfigError(
                f"database file {_db_path(data, db_id)} is missing",
                hint="each db_id needs database/<db_id>/<db_id>.sqlite",
            )
    return items


def _read_dev(data: Path) -> list[dict[str, str]]:
    dev = data / "dev.json"
    if not dev.is_file():
        raise ConfigError(
            f"{dev} not found",
            hint="point --data at a Spider-format folder: dev.json and database/<db>/<db>.sqlite",
        )
    try:
        items = json.loads(dev.read_text(encoding="utf-8"))
    except json.JSONDecodeError as exc:
        raise ConfigError(f"{dev} is not valid JSON: {exc}") from exc
    if not isinstance(items, list) or not all(
        isinstance(i, dict) and {"db_id", "question", "query"} <= i.keys() for i in items
    ):
        raise ConfigError(f"{dev} must be a list of objects with db_id, question and query")
    return items


def _stratified(items: list[dict[str, str]], limit: int) -> list[dict[str, str]]:
    by_db: dict[str, list[dict[str, str]]] = defaultdict(list)
    for i in items:
        by_db[i["db_id"]].append(i)
    quota = {db: max(1, round(limit * len(v) / len(items))) for db, v in by_db.items()}
    while sum(quota.values()) > limit:  # rounding overshoot: trim the largest
        quota[max(quota, key=lambda d: quota[d])] -= 1
    while sum(quota.values()) < limit:
        quota[max(by_db, key=lambda d: len(by_db[d]) - quota[d])] += 1
    picked = {
        db: [qs[int(j * len(qs) / quota[db])] for j in range(quota[db])]
        for db, qs in by_db.items()
        if quota[db] > 0  # fewer questions asked for than there are databases
    }
    # Round-robin over the databases, so a run stopped early has still seen every one.
    out = []
    for j in range(max(quota.values())):
        out += [qs[j] for qs in picked.values() if j < len(qs)]
    return out


def evaluate(
    data: Path,
    *,
    strategies: tuple[str, ...] = ("full",),
    small: str | None = None,
    large: str | None = None,
    drafts: int = 3,
    more_drafts: int = 1,
    shots: int = 4,
    limit: int | None = None,
    on_item: Callable[[ItemOutcome], None] | None = None,
) -> list[EvalReport]:
    """Score ``strategies`` over the folder's questions from one pass (see module doc)."""
    unknown = sorted(set(strategies) - set(EVAL_STRATEGIES))
    if unknown or not strategies:
        raise ConfigError(
            f"unknown strategies {unknown}", hint=f"use any of {', '.join(EVAL_STRATEGIES)}"
        )
    questions = load_questions(data, limit)
    roles: dict[str, Any] = {}
    if small:
        roles["small"] = small
    if large:
        roles["large"] = large
    models = ModelProvider(roles)
    ctx = ExpertContext(models=models)
    pool = ExamplePool.with_spider(_read_dev(data))
    expert = NL2SQLExpert(
        drafts=drafts, more_drafts=more_drafts, shots=shots, pool=pool, strategy="full"
    )
    dbs: dict[str, Database] = {}
    outcomes: dict[str, list[ItemOutcome]] = {s: [] for s in strategies}
    gold_failed = 0
    for item in questions:
        db_id = item["db_id"]
        if db_id not in dbs:
            dbs[db_id] = Database(f"sqlite:///{_db_path(data, db_id)}", row_cap=100_000)
        db = dbs[db_id]
        try:
            gold_rows = db.execute(item["query"]).rows
        except (SQLRefused, QueryFailed):
            gold_failed += 1
            continue
        answers = probe(expert, db, item["question"], ctx, db_id, set(strategies))
        for strategy in strategies:
            chosen, large_calls, seconds, trail, confidence = answers[strategy]
            correct = strict = False
            if chosen is not None and chosen.status == "ok":
                pred_rows = db.execute(chosen.sql).rows  # again, with the eval's row cap
                strict = same_result(gold_rows, pred_rows, ordered=_is_ordered(item["query"]))
                correct = execution_match(db, item["query"], chosen.sql)
            outcome = ItemOutcome(
                strategy=strategy,
                db_id=db_id,
                question=item["question"],
                gold=item["query"],
                predicted=chosen.sql if chosen is not None else None,
                correct=correct,
                valid=chosen is not None and chosen.status == "ok",
                large_calls=large_calls,
                seconds=round(seconds, 3),
                decision=trail,
                confidence=confidence,
                correct_strict=strict,
            )
            outcomes[strategy].append(outcome)
            if on_item is not None:
                on_item(outcome)
    for db in dbs.values():
        db.close()
    labels = (models.label(role="small"), models.label(role="large"))
    return [report(outcomes[s], s, *labels, gold_failed) for s in strategies]


Answer = tuple[Attempt | None, int, float, str, float]


def probe(
    expert: NL2SQLExpert,
    db: Database,
    question: str,
    ctx: ExpertContext,
    source: str,
    wanted: set[str],
) -> dict[str, Answer]:
    """Every wanted strategy's answer to one question, sharing the calls they have in common."""
    out: dict[str, Answer] = {}
    for name, shots in (("zero_shot", 0), ("few_shot", expert.shots)):
        if name in wanted:
            run = _Run(expert, db, question, ctx, source)
            run.single(shots=shots)
            out[name] = _read(run.attempts, run.decisions)
    cascade = wanted - {"zero_shot", "few_shot"}
    if not cascade:
        return out
    # One run gives the drafts (small_zero_shot, vote) and, on disagreement, the large
    # model's own query (full). draft_finalise shows the large model the drafts, a different
    # prompt, so it runs on its own (its drafts repeat: same prompts, same seeds).
    run = _Run(expert, db, question, ctx, source)
    run.cascade(escalate="full" in wanted, always=False, hints=False)
    drafts = [a for a in run.attempts if a.role == "small"]
    if "small_zero_shot" in wanted:
        first = drafts[0]
        out["small_zero_shot"] = (first, 0, first.seconds, "greedy draft", 0.0)
    if "vote" in wanted:
        drawn = drafts[: expert.drafts]  # not the further draft `full` may have drawn
        out["vote"] = _read(drawn, [after_drafts(drawn, quorum=expert.quorum, escalate=False)])
    if "full" in wanted:
        out["full"] = _read(run.attempts, run.decisions)
    if "draft_finalise" in wanted:
        hinted = _Run(expert, db, question, ctx, source)
        hinted.cascade(escalate=True, always=True, hints=True)
        out["draft_finalise"] = _read(hinted.attempts, hinted.decisions)
    return out


def _read(attempts: list[Attempt], decisions: list[Decision]) -> Answer:
    last = decisions[-1]
    chosen = attempts[last.chosen] if last.chosen is not None else None
    return (
        chosen,
        sum(a.role == "large" for a in attempts),
        sum(a.seconds for a in attempts),
        " -> ".join(d.action for d in decisions),
        last.confidence,
    )


def same_result(gold: list[tuple[Any, ...]], pred: list[tuple[Any, ...]], ordered: bool) -> bool:
    g, p = [_norm_row(r) for r in gold], [_norm_row(r) for r in pred]
    return g == p if ordered else Counter(g) == Counter(p)


def execution_match(db: Database, gold: str, predicted: str) -> bool:
    """Spider's official execution match (module doc): both queries run without
    ``DISTINCT``, and their results compared up to the order of the columns."""
    try:
        gold_rows = db.execute(_without_distinct(gold)).rows
        pred_rows = db.execute(_without_distinct(predicted)).rows
    except (SQLRefused, QueryFailed):
        return False
    return same_denotation(gold_rows, pred_rows, ordered=_is_ordered(gold))


def same_denotation(
    gold: list[tuple[Any, ...]], pred: list[tuple[Any, ...]], ordered: bool
) -> bool:
    """:func:`same_result` for some order of the predicted columns. A column can stand for a
    gold column only when it holds the same set of values, which keeps the search small."""
    g, p = [_norm_row(r) for r in gold], [_norm_row(r) for r in pred]
    if not g or not p:
        return not g and not p
    width = len(g[0])
    if len(g) != len(p) or len(p[0]) != width:
        return False
    values = [{r[i] for r in g} for i in range(width)], [{r[j] for r in p} for j in range(width)]
    fits = [[j for j in range(width) if values[1][j] == values[0][i]] for i in range(width)]

    def orders(i: int, used: tuple[int, ...]) -> Iterator[tuple[int, ...]]:
        if i == width:
            yield used
            return
        for j in fits[i]:
            if j not in used:
                yield from orders(i + 1, (*used, j))

    for order in orders(0, ()):
        q = [tuple(r[j] for j in order) for r in p]
        if (g == q) if ordered else Counter(g) == Counter(q):
            return True
    return False


def _without_distinct(sql: str) -> str:
    """``sql`` with every ``DISTINCT`` taken out, as the official evaluation does by default
    (``COUNT(DISTINCT x)`` becomes ``COUNT(x)`` there too)."""
    try:
        tree = sqlglot.parse_one(sql, read="sqlite")
    except sqlglot.errors.SqlglotError:
        return sql
    for node in list(tree.find_all(exp.Distinct)):
        if isinstance(node.parent, exp.Select) and node.arg_key == "distinct":
            node.parent.set("distinct", None)
        elif len(node.expressions) == 1:
            node.replace(node.expressions[0])
    return tree.sql(dialect="sqlite")


def _norm_row(row: tuple[Any, ...]) -> tuple[Any, ...]:
    return tuple(round(v, 4) if isinstance(v, float) else v for v in row)


def _is_ordered(sql: str) -> bool:
    try:
        tree = sqlglot.parse_one(sql, read="sqlite")
    except sqlglot.errors.SqlglotError:
        return "order by" in sql.lower()
    return tree.args.get("order") is not None if isinstance(tree, exp.Query) else False


def report(
    outcomes: list[ItemOutcome], strategy: str, small: str, large: str, gold_failed: int
) -> EvalReport:
    n = len(outcomes)
    if n == 0:
        raise ConfigError("no question could be evaluated (every gold query failed)")
    by_db: dict[str, dict[str, float]] = {}
    for db_id in sorted({o.db_id for o in outcomes}):
        mine = [o for o in outcomes if o.db_id == db_id]
        by_db[db_id] = {
            "n": len(mine),
            "execution_accuracy": round(sum(o.correct for o in mine) / len(mine), 3),
        }
    seconds = sorted(o.seconds for o in outcomes)
    return EvalReport(
        strategy=strategy,
        n=n,
        execution_accuracy=round(sum(o.correct for o in outcomes) / n, 4),
        execution_accuracy_strict=round(sum(o.correct_strict for o in outcomes) / n, 4),
        valid_sql_rate=round(sum(o.valid for o in outcomes) / n, 4),
        large_calls_per_question=round(sum(o.large_calls for o in outcomes) / n, 3),
        large_share=round(sum(o.large_calls > 0 for o in outcomes) / n, 3),
        median_s=round(statistics.median(seconds), 2),
        p95_s=round(seconds[min(n - 1, int(0.95 * n))], 2),
        mean_s=round(statistics.fmean(seconds), 2),
        gold_failed=gold_failed,
        small=small,
        large=large,
        decisions=dict(Counter(o.decision for o in outcomes).most_common()),
        by_db=by_db,
        items=outcomes,
    )


def _db_path(data: Path, db_id: str) -> Path:
    return data / "database" / db_id / f"{db_id}.sqlite"
