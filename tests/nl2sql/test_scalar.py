"""A subquery compared with ``=`` that finds several rows is read as ``IN``: a question that
names something two rows match means both."""

from __future__ import annotations

import pytest

from podium.experts.base import ExpertContext
from podium.experts.nl2sql import NL2SQLExpert
from podium.experts.nl2sql.scalar import widen_scalar_subqueries
from podium.models.provider import ModelProvider
from podium.tools.sql import Database, QueryFailed

from .test_expert import _scripted
from .test_grouping import namesakes  # noqa: F401  (the fixture: two customers named Ann Lee)

FIRST_ONLY = (
    "SELECT SUM(total) FROM orders WHERE customer_id = "
    "(SELECT id FROM customers WHERE name = 'Ann Lee')"
)


def _rows(db: Database):
    def count(sql: str) -> int | None:
        try:
            return int(db.execute(sql).rows[0][0])
        except QueryFailed:
            return None

    return count


def test_a_name_two_rows_share_reads_both(namesakes):  # noqa: F811
    assert namesakes.execute(FIRST_ONLY).rows == [(30.0,)]  # SQLite used the first Ann Lee only

    widened = widen_scalar_subqueries(FIRST_ONLY, _rows(namesakes), "sqlite")

    assert widened is not None
    assert "customer_id IN (SELECT id FROM customers WHERE name = 'Ann Lee')" in widened.sql
    assert "finds 2 rows" in widened.note
    assert widened.matches == (
        "2 rows of customers match name = 'Ann Lee'; the result covers all of them"
    )
    assert namesakes.execute(widened.sql).rows == [(70.0,)]


@pytest.mark.parametrize(
    "sql",
    [
        # one row: = is what it means
        "SELECT SUM(total) FROM orders WHERE customer_id = "
        "(SELECT id FROM customers WHERE name = 'Bob Roy')",
        "SELECT name FROM customers WHERE id = (SELECT MAX(customer_id) FROM orders)",
        # reads the outer query's row: cannot run alone
        "SELECT o.id FROM orders AS o WHERE o.total = "
        "(SELECT MAX(x.total) FROM orders AS x WHERE x.customer_id = o.customer_id)",
        "SELECT name FROM customers WHERE name = 'Ann Lee'",
        "not sql at all",
    ],
)
def test_other_comparisons_are_left_alone(namesakes, sql):  # noqa: F811
    assert widen_scalar_subqueries(sql, _rows(namesakes), "sqlite") is None


def test_no_gold_query_of_the_spider_slice_is_changed(spider_gold):
    changed = [
        item["question"]
        for item, db in spider_gold
        if widen_scalar_subqueries(item["query"], _rows(db), "sqlite")
    ]
    assert changed == []


@pytest.mark.slow  # links with the real embedded encoder
def test_drafts_that_name_a_shared_name_agree_on_all_its_rows(namesakes):  # noqa: F811
    # What the 0.5B drafted for "How many orders did Olga Martin place?" on the demo shop:
    # one draft with =, one with IN. They now agree, and the large model is not asked.
    small, _ = _scripted(
        FIRST_ONLY,
        FIRST_ONLY.replace("= (", "IN ("),
        "SELECT spent FROM customers",  # a draft that fails does not dispute them
    )
    large, asked = _scripted("SELECT 0")
    ctx = ExpertContext(models=ModelProvider({"small": small, "large": large}))

    answer = NL2SQLExpert().answer(namesakes, "How much did Ann Lee spend?", ctx)

    assert answer.ok, answer.error
    assert answer.output["rows"] == [[70.0]]
    assert answer.details["decision"] == "agreed" and asked == []
    attempt = answer.details["attempts"][0]
    assert attempt["written"] == FIRST_ONLY and "IN (SELECT" in attempt["sql"]
    # the answer is written from the summary: it can say two customers have the name
    assert answer.summary.endswith(
        "(2 rows of customers match name = 'Ann Lee'; the result covers all of them.)"
    )
