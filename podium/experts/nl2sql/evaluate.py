"""Execution accuracy of the NL2SQL expert on a Spider-format folder.

The folder holds ``dev.json`` (a list of ``{db_id, question, query}``) and
``database/<db_id>/<db_id>.sqlite``; ``tables.json`` is optional and not needed. A prediction
is correct when its result set equals the gold query's: compared as multisets of rows, or as
sequences when the gold query orders its result (top-level ``ORDER BY``). Floats are compared
to 4 decimals. ``--limit N`` takes N questions spread evenly over the file (every db is seen).
"""

from __future__ import annotations

import json
import statistics
import time
from collections import Counter
from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import sqlglot
from sqlglot import exp

from podium.errors import ConfigError, SQLRefused
from podium.experts.base import ExpertContext
from podium.models.provider import ModelProvider
from podium.tools.sql import Database, QueryFailed

from .expert import NL2SQLExpert, Strategy


@dataclass
class ItemOutcome:
    db_id: str
    question: str
    gold: str
    predicted: str | None
    correct: bool
    valid: bool
    candidates: int
    repairs: int
    confidence: float
    seconds: float
    error: str | None = None


@dataclass
class EvalReport:
    strategy: str
    n: int
    execution_accuracy: float
    valid_sql_rate: float
    mean_candidates: float
    mean_latency_s: float
    median_latency_s: float
    repair_rate: float
    gold_failed: int
    model: str
    large: str | None
    by_db: dict[str, dict[str, float]] = field(default_factory=dict)
    items: list[ItemOutcome] = field(default_factory=list)

    def as_dict(self, items: bool = False) -> dict[str, Any]:
        out = asdict(self)
        if not items:
            out.pop("items")
        return out


def load_questions(data: Path, limit: int | None = None) -> list[dict[str, str]]:
    """The questions of ``data/dev.json``, checked, optionally an even sample of ``limit``."""
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
    if limit is not None:
        if limit < 1:
            raise ConfigError("--limit must be at least 1")
        if limit < len(items):
            step = len(items) / limit
            items = [items[int(i * step)] for i in range(limit)]
    for db_id in {i["db_id"] for i in items}:
        if not _db_path(data, db_id).is_file():
            raise ConfigError(
                f"database file {_db_path(data, db_id)} is missing",
                hint="each db_id needs database/<db_id>/<db_id>.sqlite",
            )
    return items


def evaluate(
    data: Path,
    *,
    strategy: Strategy = "vote+repair",
    model: str = "local:smollm2",
    large: str | None = None,
    drafts: int = 5,
    limit: int | None = None,
    on_item: Callable[[ItemOutcome], None] | None = None,
) -> EvalReport:
    """Run one strategy over the folder's questions."""
    return evaluate_strategies(
        data,
        strategies=(strategy,),
        model=model,
        large=large,
        drafts=drafts,
        limit=limit,
        on_item=on_item,
    )[0]


def evaluate_strategies(
    data: Path,
    *,
    strategies: tuple[Strategy, ...] = ("single", "vote", "vote+repair"),
    model: str = "local:smollm2",
    large: str | None = None,
    drafts: int = 5,
    limit: int | None = None,
    on_item: Callable[[ItemOutcome], None] | None = None,
) -> list[EvalReport]:
    """Score several strategies from one pass over the questions.

    The most expensive strategy asked for is run; the cheaper ones are read off its
    candidates, which are exactly what they would produce on their own: ``single`` is draft 0
    (greedy, same prompt), ``vote`` is the vote over the ``k`` drafts before any repair.
    """
    questions = load_questions(data, limit)
    widest = max(strategies, key=("single", "vote", "vote+repair").index)
    models = ModelProvider({"large": large} if large else {})
    expert = NL2SQLExpert(model=model, drafts=drafts, strategy=widest, large=large)
    ctx = ExpertContext(models=models)
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
        start = time.perf_counter()
        linked, candidates, repairs = expert.candidates(db, item["question"], ctx)
        seconds = time.perf_counter() - start
        per_candidate = seconds / len(candidates)
        for strategy in strategies:
            if strategy == "single":
                mine, rounds = candidates[:1], 0
            elif strategy == "vote":
                mine, rounds = candidates[:drafts], 0
            else:
                mine, rounds = candidates, repairs
            result = expert.decide(db, mine, linked, rounds)
            predicted = result.output["sql"] if result.ok else None
            correct = False
            if predicted is not None:
                pred_rows = db.execute(predicted).rows  # again, without a display cap
                correct = same_result(gold_rows, pred_rows, ordered=_is_ordered(item["query"]))
            outcome = ItemOutcome(
                db_id=db_id,
                question=item["question"],
                gold=item["query"],
                predicted=predicted,
                correct=correct,
                valid=predicted is not None,
                candidates=len(mine),
                repairs=rounds,
                confidence=result.confidence,
                # time of this strategy's own candidates (linking shared, spread evenly)
                seconds=round(per_candidate * len(mine), 3),
                error=result.error,
            )
            outcomes[strategy].append(outcome)
            if on_item is not None:
                on_item(outcome)
    for db in dbs.values():
        db.close()
    return [_report(outcomes[s], s, model, large, gold_failed) for s in strategies]


def same_result(gold: list[tuple[Any, ...]], pred: list[tuple[Any, ...]], ordered: bool) -> bool:
    g, p = [_norm_row(r) for r in gold], [_norm_row(r) for r in pred]
    return g == p if ordered else Counter(g) == Counter(p)


def _norm_row(row: tuple[Any, ...]) -> tuple[Any, ...]:
    return tuple(round(v, 4) if isinstance(v, float) else v for v in row)


def _is_ordered(sql: str) -> bool:
    try:
        tree = sqlglot.parse_one(sql, read="sqlite")
    except sqlglot.errors.SqlglotError:
        return "order by" in sql.lower()
    return tree.args.get("order") is not None if isinstance(tree, exp.Query) else False


def _report(
    outcomes: list[ItemOutcome], strategy: str, model: str, large: str | None, gold_failed: int
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
    seconds = [o.seconds for o in outcomes]
    return EvalReport(
        strategy=strategy,
        n=n,
        execution_accuracy=round(sum(o.correct for o in outcomes) / n, 4),
        valid_sql_rate=round(sum(o.valid for o in outcomes) / n, 4),
        mean_candidates=round(sum(o.candidates for o in outcomes) / n, 2),
        mean_latency_s=round(statistics.fmean(seconds), 2),
        median_latency_s=round(statistics.median(seconds), 2),
        repair_rate=round(sum(o.repairs > 0 for o in outcomes) / n, 3),
        gold_failed=gold_failed,
        model=model,
        large=large,
        by_db=by_db,
        items=outcomes,
    )


def _db_path(data: Path, db_id: str) -> Path:
    return data / "database" / db_id / f"{db_id}.sqlite"
