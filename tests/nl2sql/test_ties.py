"""A top answer that hides a tie says it is a tie: the query's row stays, its summary (what the
answer is written from) names every row tied for first."""

from __future__ import annotations

import sqlite3

import pytest

from podium.experts.base import ExpertContext
from podium.experts.nl2sql import NL2SQLExpert
from podium.experts.nl2sql.ties import tie_for_first
from podium.models.provider import ModelProvider
from podium.tools.sql import Database, QueryFailed

from .test_expert import _scripted

MOST = "SELECT country FROM customers GROUP BY country ORDER BY COUNT(*) DESC LIMIT 1"


@pytest.fixture(scope="module")
def shop(tmp_path_factory: pytest.TempPathFactory) -> Database:
    """Two customers each in Norway and Spain, one in Chile; Ann spent most, alone."""
    path = tmp_path_factory.mktemp("ties") / "shop.sqlite"
    con = sqlite3.connect(path)
    con.executescript(
        """
        CREATE TABLE customers (id INTEGER PRIMARY KEY, name TEXT, country TEXT, spent REAL);
        INSERT INTO customers VALUES (1, 'Ann', 'Norway', 90), (2, 'Bo', 'Spain', 40),
            (3, 'Cy', 'Norway', 10), (4, 'Di', 'Spain', 20), (5, 'Ed', 'Chile', 30);
        """
    )
    con.commit()
    con.close()
    return Database(f"sqlite:///{path}")


def _rows(db: Database):
    def rows(sql: str):
        try:
            return db.execute(sql).rows
        except QueryFailed:
            return None

    return rows


def test_a_tie_for_first_is_named(shop):
    assert len(shop.execute(MOST).rows) == 1  # one winner shown where there are two

    tie = tie_for_first(MOST, _rows(shop), "sqlite")

    assert tie is not None
    assert tie.describe() in (
        "a tie for first: Norway and Spain",
        "a tie for first: Spain and Norway",
    )


@pytest.mark.parametrize(
    "sql",
    [
        "SELECT name FROM customers ORDER BY spent DESC LIMIT 1",  # Ann alone
        "SELECT name, spent AS s FROM customers ORDER BY s DESC LIMIT 1",  # by its alias
        "SELECT country FROM customers GROUP BY country ORDER BY COUNT(*) LIMIT 1",  # Chile
        MOST.replace("LIMIT 1", "LIMIT 2"),  # shows both
        "SELECT country FROM customers GROUP BY country ORDER BY 1 LIMIT 1",  # by position
        "SELECT * FROM customers ORDER BY country LIMIT 1",  # columns unknown here
        "SELECT country FROM customers LIMIT 1",  # no order: no first
        "not sql at all",
    ],
)
def test_no_tie_or_nothing_to_check(shop, sql):
    assert tie_for_first(sql, _rows(shop), "sqlite") is None


@pytest.mark.slow  # links with the real embedded encoder
def test_the_answer_is_written_from_the_tie_not_from_one_winner(shop):
    small, _ = _scripted(MOST, MOST.lower(), "SELECT spent FROM orders")
    large, _ = _scripted("SELECT 0")
    ctx = ExpertContext(models=ModelProvider({"small": small, "large": large}))

    answer = NL2SQLExpert().answer(shop, "Which country has the most customers?", ctx)

    assert answer.ok, answer.error
    assert len(answer.output["rows"]) == 1  # the query's result is what it is
    assert answer.summary is not None and answer.summary.startswith("a tie for first: ")
    assert "Norway" in answer.summary and "Spain" in answer.summary
    assert answer.details["tie"] == answer.summary
