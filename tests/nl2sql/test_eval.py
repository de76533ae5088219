"""`podium eval nl2sql` and `podium sql` as a user runs them."""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from podium.experts.nl2sql.evaluate import (
    execution_match,
    load_questions,
    same_denotation,
    same_result,
)


def _cli(*args: str, cwd: Path | None = None) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "podium.cli", *args],
        capture_output=True,
        text=True,
        cwd=cwd,
        timeout=600,
    )


def test_results_compare_as_multisets_unless_the_gold_orders_them():
    assert same_result([(1,), (2,), (2,)], [(2,), (1,), (2,)], ordered=False)
    assert not same_result([(1,), (2,), (2,)], [(2,), (1,)], ordered=False)
    assert not same_result([(1,), (2,)], [(2,), (1,)], ordered=True)
    assert same_result([(0.333333333,)], [(1 / 3,)], ordered=False)
    assert same_result([(3,)], [(3.0,)], ordered=False)


def test_the_official_match_allows_any_order_of_the_columns():
    gold = [(3, "Bristol"), (1, "Leeds"), (1, "Bath")]
    assert same_denotation(gold, [("Leeds", 1), ("Bath", 1), ("Bristol", 3)], ordered=False)
    assert not same_result(gold, [("Leeds", 1), ("Bath", 1), ("Bristol", 3)], ordered=False)
    # a permutation of the columns is not one of the values
    assert not same_denotation(gold, [("Leeds", 3), ("Bath", 1), ("Bristol", 1)], ordered=False)
    # an ordered gold result keeps its row order; columns of equal values may swap
    assert same_denotation([(1, 1), (2, 2)], [(1, 1), (2, 2)], ordered=True)
    assert not same_denotation([(1, 1), (2, 2)], [(2, 2), (1, 1)], ordered=True)
    assert not same_denotation([(1, 2)], [(1, 2, 3)], ordered=False)
    assert same_denotation([], [], ordered=False) and not same_denotation([(1,)], [], ordered=True)


def test_the_official_match_on_spider_queries(spider_db):
    db, _ = spider_db("employee_hire_evaluation")
    gold = "SELECT count(*) ,  city FROM employee GROUP BY city"
    assert execution_match(db, gold, "SELECT City, COUNT(*) FROM employee GROUP BY City")
    assert not execution_match(db, gold, "SELECT City, COUNT(*) FROM employee GROUP BY Age")
    # DISTINCT is taken out of both queries, as the official evaluation does by default
    assert execution_match(db, "SELECT city FROM employee", "SELECT DISTINCT city FROM employee")
    assert not execution_match(db, "SELECT city FROM employee", "SELECT name FROM employee")
    assert not execution_match(db, gold, "SELECT nonsense FROM employee")


def test_limit_takes_a_sample_stratified_by_database(spider):
    everything = load_questions(spider)
    items = load_questions(spider, limit=100)

    assert len(items) == 100 and len({i["db_id"] for i in items}) == 10
    for db_id in {i["db_id"] for i in everything}:
        share = sum(i["db_id"] == db_id for i in everything) / len(everything)
        assert abs(sum(i["db_id"] == db_id for i in items) - 100 * share) <= 1


def test_a_folder_without_dev_json_is_a_clear_error(tmp_path):
    proc = _cli("eval", "nl2sql", "--data", str(tmp_path))
    assert proc.returncode == 2
    assert "dev.json" in proc.stderr and "Spider-format" in proc.stderr


def test_an_unknown_strategy_is_a_clear_error(spider):
    proc = _cli("eval", "nl2sql", "--data", str(spider), "--strategy", "magic")
    assert proc.returncode == 2
    assert "zero_shot, few_shot, vote, draft_finalise, full" in proc.stderr


@pytest.mark.slow
def test_eval_reports_execution_accuracy_as_json(spider, tmp_path):
    data = tmp_path / "mini"
    (data / "database" / "singer").mkdir(parents=True)
    shutil.copyfile(
        spider / "database/singer/singer.sqlite", data / "database/singer/singer.sqlite"
    )
    items = [i for i in json.loads((spider / "dev.json").read_text()) if i["db_id"] == "singer"]
    (data / "dev.json").write_text(json.dumps(items[:2]))

    proc = _cli(
        "eval", "nl2sql", "--data", str(data), "--strategy", "vote", "--drafts", "2", "--json"
    )

    assert proc.returncode == 0, proc.stderr
    report = json.loads(proc.stdout)
    assert report["n"] == 2
    assert 0 <= report["execution_accuracy"] <= report["valid_sql_rate"] <= 1
    assert report["strategy"] == "vote" and report["large_calls_per_question"] == 0
    assert 0 < report["median_s"] <= report["p95_s"]
    assert sum(report["decisions"].values()) == 2
    assert "items" not in report


def test_podium_sql_runs_a_select_and_refuses_a_write(demo):
    ok = _cli("sql", "SELECT COUNT(*) AS n FROM orders", "-w", str(demo.root), "--json")
    assert ok.returncode == 0, ok.stderr
    assert json.loads(ok.stdout)["rows"][0][0] > 0

    refused = _cli("sql", "SELECT 1; DROP TABLE orders", "-w", str(demo.root))
    assert refused.returncode == 2
    assert "refused" in refused.stderr and "2 statements" in refused.stderr


@pytest.mark.slow  # links with the real embedded encoder
def test_vote_scored_from_a_full_pass_counts_only_the_first_drafts(spider_db):
    from podium.experts.base import ExpertContext
    from podium.experts.nl2sql import NL2SQLExpert
    from podium.experts.nl2sql.evaluate import probe
    from podium.models.provider import ModelProvider

    from .test_expert import _scripted

    db, _ = spider_db("concert_singer")
    # Three drafts that disagree; the fourth, drawn by `full`, sides with the second.
    small, _ = _scripted(
        "SELECT COUNT(*) FROM singer",
        "SELECT COUNT(*) FROM stadium",
        "SELECT COUNT(*) FROM singr",
        "SELECT count(*) FROM stadium",
    )
    large, asked = _scripted("SELECT 0")
    ctx = ExpertContext(models=ModelProvider({"small": small, "large": large}))

    expert = NL2SQLExpert(more_drafts=1)
    out = probe(expert, db, "How many singers are there?", ctx, "x", {"vote", "full"})

    full_answer, vote_answer = out["full"][0], out["vote"][0]
    assert full_answer is not None and full_answer.origin == "draft-1"  # 2 of 4 settled it
    assert out["full"][3] == "more -> agreed" and asked == []
    # the three drafts' own vote: no group, the greedy draft's answer kept as a fallback
    assert vote_answer is not None and vote_answer.origin == "draft-0"
    assert out["vote"][3] == "fallback"
