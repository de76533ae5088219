"""Stored values a question names, without the encoder: the index of a database's text values
and the lookup, in either grammatical number."""

from __future__ import annotations

from podium.experts.nl2sql.linking import text_values, value_matches


def test_a_value_is_found_in_the_other_grammatical_number(spider_db):
    db, _ = spider_db("world_1")
    stored = text_values(db)

    hits = {
        (m.table, m.column, m.value)
        for m in value_matches("How many countries have governments that are republics?", stored)
    }

    assert ("country", "GovernmentForm", "Republic") in hits


def test_a_verb_ending_in_s_is_not_read_as_a_short_code(spider_db):
    # "uses" -> "us" would link the country code 'US' to a question about languages.
    db, _ = spider_db("world_1")

    found = value_matches(
        "Find the city with the largest population that uses English.", text_values(db)
    )

    assert "US" not in {m.value for m in found}
    assert "English" in {m.value for m in found}
