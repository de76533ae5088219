"""Few-shot examples chosen per question from a pool: similar questions with similar SQL
skeletons, never from the database being asked about."""

from __future__ import annotations

import json

import pytest

from podium.experts.nl2sql.fewshot import ExamplePool, mask_question, skeleton
from podium.models.provider import ModelProvider


def test_questions_are_compared_with_their_values_masked():
    assert mask_question("How many singers are from 'France' since 2014?") == (
        "How many singers are from <value> since <number>?"
    )
    assert mask_question("Show the cars made by Volvo") == "Show the cars made by <name>"


def test_a_skeleton_keeps_the_sql_shape_and_drops_names_and_values():
    assert skeleton("SELECT name FROM singer WHERE age > 30 ORDER BY age DESC LIMIT 1") == [
        *"SELECT _ FROM _ WHERE _ > _".split(),
        "ORDER BY",
        *"_ DESC LIMIT _".split(),
    ]


def test_the_shipped_pool_covers_grouping_nesting_and_set_operations():
    sql = " ".join(e.sql for e in ExamplePool.generic().examples)
    for keyword in ("GROUP BY", "HAVING", "NOT IN (SELECT", "INTERSECT", "EXCEPT", "UNION"):
        assert keyword in sql


@pytest.mark.slow  # the real embedded encoder
def test_examples_come_from_other_databases_only_and_resemble_the_question(spider):
    items = json.loads((spider / "dev.json").read_text())
    pool = ExamplePool.with_spider(items)
    encoder = ModelProvider().embedder()

    chosen = pool.select(
        "How many singers do we have?",
        encoder,
        k=4,
        exclude_source="concert_singer",
        draft_sql="SELECT count(*) FROM singer",
    )

    assert len(chosen) == 4
    assert all(e.source != "concert_singer" for e in chosen)
    assert "COUNT(*)" in chosen[-1].sql.upper()  # the closest one comes last
    assert len({" ".join(skeleton(e.sql)) for e in chosen}) == 4  # no two of the same shape


def test_the_shipped_examples_name_no_table_of_the_demo_shop(tmp_path):
    """A model copies an example whose tables exist in the database it is asked about: with
    shop-like examples (customers, orders, products) the 1.5B answered "How many orders were
    placed in 2025?" with the example ``SELECT name FROM products WHERE name LIKE '%box%'``."""
    from sqlglot import exp, parse_one

    from podium.demo.shop import build_shop_db
    from podium.tools.sql import Database

    db = Database(f"sqlite:///{build_shop_db(tmp_path / 'shop.sqlite')}")
    demo_tables = {t.name.lower() for t in db.schema().tables}
    used = {
        t.name.lower()
        for e in ExamplePool.generic().examples
        for t in parse_one(e.sql, read="sqlite").find_all(exp.Table)
    }
    assert used and not (used & demo_tables)
