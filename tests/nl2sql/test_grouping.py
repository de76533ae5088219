"""Entities are grouped by their key, not their name. "Which customers spent the most?" summed
per ``c.name`` adds namesakes' orders together; Podium keys such groups itself when the
database holds namesakes, and leaves every other grouping alone."""

from __future__ import annotations

import pytest

from podium.demo.shop import build_shop_db
from podium.experts.base import ExpertContext
from podium.experts.nl2sql import NL2SQLExpert
from podium.experts.nl2sql.grouping import (
    group_by_entity,
    key_named_groups,
    shared_names_query,
)
from podium.models.provider import ModelProvider
from podium.tools.sql import Database, QueryFailed

from .conftest import sqlite_database
from .test_expert import _scripted

BY_NAME = (
    "SELECT c.name, SUM(o.total) AS spent FROM customers AS c "
    "JOIN orders AS o ON o.customer_id = c.id GROUP BY c.name ORDER BY spent DESC LIMIT 2"
)


@pytest.fixture(scope="module")
def namesakes(tmp_path_factory: pytest.TempPathFactory) -> Database:
    """Two customers called Ann Lee (30 + 40 spent), Bob Roy (60), Cy Dahl (50)."""
    return sqlite_database(
        tmp_path_factory.mktemp("namesakes"),
        """
        CREATE TABLE customers (id INTEGER PRIMARY KEY, name TEXT, country TEXT);
        CREATE TABLE orders (id INTEGER PRIMARY KEY,
                             customer_id INTEGER REFERENCES customers(id), total REAL);
        INSERT INTO customers VALUES (1, 'Ann Lee', 'NO'), (2, 'Ann Lee', 'SE'),
                                     (3, 'Bob Roy', 'NO'), (4, 'Cy Dahl', 'NO');
        INSERT INTO orders VALUES (1, 1, 30), (2, 2, 40), (3, 3, 60), (4, 4, 50);
        """,
    )


def _shared(db: Database):
    def shared(table: str, columns: list[str]) -> bool:
        query = shared_names_query(db.schema().table(table), columns, "sqlite")
        return db.execute(query).row_count > 0

    return shared


def test_namesakes_are_not_added_together(namesakes):
    merged = namesakes.execute(BY_NAME)
    assert merged.rows[0] == ("Ann Lee", 70.0)  # two people's 30 and 40: the wrong answer

    keyed = key_named_groups(BY_NAME, namesakes.schema().tables, _shared(namesakes), "sqlite")

    assert keyed is not None
    assert keyed.sql.endswith("GROUP BY c.name, c.id ORDER BY spent DESC LIMIT 2")
    assert "customers rows share values of name" in keyed.note
    assert namesakes.execute(keyed.sql).rows == [("Bob Roy", 60.0), ("Cy Dahl", 50.0)]


@pytest.mark.parametrize(
    "sql",
    [
        # the question is about names themselves: one table, no child rows grouped
        "SELECT name, COUNT(*) FROM customers GROUP BY name ORDER BY COUNT(*) DESC",
        # a category, not a name: merging is what grouping by it means
        "SELECT c.country, SUM(o.total) FROM customers c JOIN orders o "
        "ON o.customer_id = c.id GROUP BY c.country",
        # already keyed
        "SELECT c.name, SUM(o.total) FROM customers c JOIN orders o "
        "ON o.customer_id = c.id GROUP BY c.id",
        # nothing aggregated
        "SELECT c.name FROM customers c JOIN orders o ON o.customer_id = c.id GROUP BY c.name",
        "SELECT name FROM customers",
        "not sql at all",
    ],
)
def test_other_groupings_are_left_alone(namesakes, sql):
    assert key_named_groups(sql, namesakes.schema().tables, _shared(namesakes), "sqlite") is None


def test_unique_names_are_left_alone(namesakes):
    def unique(table: str, columns: list[str]) -> bool:
        return False

    assert key_named_groups(BY_NAME, namesakes.schema().tables, unique, "sqlite") is None


def test_no_gold_query_of_the_spider_slice_is_changed(spider_gold):
    """Spider's gold queries group entities by their key or by names no two rows share."""
    changed = []
    for item, db in spider_gold:
        try:
            db.execute(item["query"])
        except QueryFailed:
            continue
        if key_named_groups(item["query"], db.schema().tables, _shared(db), "sqlite"):
            changed.append(item["question"])
    assert changed == []


@pytest.mark.slow  # links with the real embedded encoder
def test_the_answer_names_the_biggest_spenders_when_customers_share_names(namesakes):
    small, _ = _scripted(BY_NAME)
    large, asked = _scripted(BY_NAME)
    ctx = ExpertContext(models=ModelProvider({"small": small, "large": large}))

    answer = NL2SQLExpert().answer(namesakes, "Which 2 customers spent the most?", ctx)

    assert answer.ok, answer.error
    assert answer.output["rows"] == [["Bob Roy", 60.0], ["Cy Dahl", 50.0]]
    assert answer.details["decision"] == "agreed" and asked == []
    attempt = answer.details["attempts"][0]
    assert attempt["written"] == BY_NAME and "GROUP BY c.name, c.id" in attempt["sql"]
    assert "namesakes are not merged" in attempt["note"]


@pytest.mark.slow  # the real ladder on the full demo shop, whose 300 customers share 242 names
def test_the_ladder_names_the_five_biggest_spenders_of_the_demo_shop(tmp_path):
    shop = Database(f"sqlite:///{build_shop_db(tmp_path / 'shop.sqlite')}")
    by_customer = shop.execute(
        "SELECT c.name, SUM(o.total) FROM customers AS c JOIN orders AS o "
        "ON o.customer_id = c.id GROUP BY c.id ORDER BY SUM(o.total) DESC LIMIT 5"
    )

    answer = NL2SQLExpert().answer(
        shop, "Which 5 customers spent the most?", ExpertContext(models=ModelProvider())
    )

    assert answer.ok, answer.error
    assert [row[0] for row in answer.output["rows"]] == [row[0] for row in by_customer.rows]


UNGROUPED = (
    "SELECT c.name FROM customers c JOIN orders o ON c.id = o.customer_id "
    "ORDER BY SUM(o.total) DESC LIMIT 2"
)


def test_an_ungrouped_ranking_of_entities_by_their_rows_is_grouped_by_their_key(namesakes):
    with pytest.raises(QueryFailed) as refused:
        namesakes.execute(UNGROUPED)
    tables = namesakes.schema().tables

    grouped = group_by_entity(UNGROUPED, str(refused.value), tables, "sqlite")

    assert grouped is not None and "GROUP BY c.id" in grouped.sql
    assert "groups by customers.id" in grouped.note
    assert namesakes.execute(grouped.sql).rows == [("Bob Roy",), ("Cy Dahl",)]
    # only for that refusal, and only when what is listed is one table's and rows point at it
    assert group_by_entity(UNGROUPED, "no such column: total", tables, "sqlite") is None
    two_tables = UNGROUPED.replace("SELECT c.name", "SELECT c.name, o.id")
    assert group_by_entity(two_tables, "misuse of aggregate: SUM()", tables, "sqlite") is None
    own_rows = "SELECT name FROM customers ORDER BY COUNT(*) DESC"
    assert group_by_entity(own_rows, "misuse of aggregate: COUNT()", tables, "sqlite") is None


@pytest.mark.slow  # links with the real embedded encoder
def test_the_large_models_ungrouped_ranking_answers_once_grouped(namesakes):
    # The demo: no two drafts agreed, and the 1.5B's query was refused by SQLite.
    small, _ = _scripted("SELECT name FROM customers ORDER BY total DESC LIMIT 2")
    large, asked = _scripted(UNGROUPED)
    ctx = ExpertContext(models=ModelProvider({"small": small, "large": large}))

    answer = NL2SQLExpert().answer(namesakes, "Which 2 customers spent the most?", ctx)

    assert answer.ok, answer.error
    assert answer.output["rows"] == [["Bob Roy"], ["Cy Dahl"]]
    final = next(a for a in answer.details["attempts"] if a["origin"] == "final")
    assert final["written"] == UNGROUPED and "GROUP BY c.id" in final["sql"]
    assert len(asked) == 1  # no repair round was needed
