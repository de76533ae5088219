"""Spider's hardness levels of gold queries, as its evaluation script counts components."""

from __future__ import annotations

import json
from collections import Counter

from podium.experts.nl2sql.hardness import LEVELS, hardness


def test_one_table_with_one_filter_is_easy():
    assert hardness("SELECT count(*) FROM singer") == "easy"
    assert hardness("SELECT DISTINCT country FROM singer WHERE age > 20") == "easy"


def test_a_join_with_grouping_and_two_columns_is_medium():
    sql = (
        "SELECT T2.name, count(*) FROM concert AS T1 JOIN stadium AS T2 "
        "ON T1.stadium_id = T2.stadium_id GROUP BY T1.stadium_id"
    )
    assert hardness(sql) == "medium"


def test_one_nested_query_in_a_plain_select_is_hard():
    sql = (
        "SELECT avg(LifeExpectancy) FROM country WHERE Name NOT IN (SELECT T1.Name "
        "FROM country AS T1 JOIN countrylanguage AS T2 ON T1.Code = T2.CountryCode "
        "WHERE T2.Language = 'English')"
    )
    assert hardness(sql) == "hard"


def test_set_operations_with_joins_and_filters_are_extra_hard():
    sql = (
        "SELECT T1.Name FROM country AS T1 JOIN countrylanguage AS T2 ON T1.Code = T2.CountryCode "
        "WHERE T2.Language = 'English' AND T2.IsOfficial = 'T' UNION SELECT T1.Name FROM "
        "country AS T1 JOIN countrylanguage AS T2 ON T1.Code = T2.CountryCode "
        "WHERE T2.Language = 'Dutch' AND T2.IsOfficial = 'T'"
    )
    assert hardness(sql) == "extra"


def test_every_level_occurs_in_the_shared_spider_slice(spider):
    dev = json.loads((spider / "dev.json").read_text())

    counts = Counter(hardness(q["query"]) for q in dev)

    assert set(counts) == set(LEVELS)
    assert counts["medium"] == max(counts.values())  # as in all of Spider dev
