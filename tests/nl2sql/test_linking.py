"""Schema linking on real schemas with the real embedded encoder: the right tables and
columns by name, the right columns by value, and a small sub-schema out of a wide one."""

from __future__ import annotations

import sqlite3
from pathlib import Path

import pytest

from podium.experts.nl2sql.linking import SchemaLinker
from podium.models.embeddings import load_embedder
from podium.tools.sql import Database

pytestmark = pytest.mark.slow  # loads all-MiniLM-L6-v2


@pytest.fixture(scope="module")
def linker() -> SchemaLinker:
    return SchemaLinker(load_embedder())


def test_links_the_table_by_name_and_the_column_by_value(linker, spider_db):
    db, _ = spider_db("concert_singer")

    linked = linker.link(db, "What is the average age of all singers from France?")

    assert linked.tables[0] == "singer"
    assert "Age" in linked.columns["singer"]
    hits = {(v.table, v.column, v.value) for v in linked.values}
    assert ("singer", "Country", "France") in hits
    assert linked.column_scores["singer.Country"] == 1.0  # a value hit is certain
    assert "singer.Country = 'France'" in linked.ddl(db.schema())
    card = linked.as_dict()
    assert card["tables"][0] == {
        "name": "singer",
        "score": pytest.approx(card["tables"][0]["score"]),
    }
    assert card["total_columns"] == sum(len(t.columns) for t in db.schema().tables)


def test_a_value_brings_in_a_table_the_question_does_not_name(linker, spider_db):
    db, _ = spider_db("world_1")

    linked = linker.link(db, "What languages are spoken in Aruba?")

    assert "countrylanguage" in linked.tables
    assert any(v.value == "Aruba" and v.table == "country" for v in linked.values)
    assert "country" in linked.tables


def test_a_link_table_joins_the_tables_it_connects(linker, spider_db):
    db, _ = spider_db("concert_singer")

    linked = linker.link(db, "Show the names of singers and the names of their concerts.")

    assert {"singer", "concert", "singer_in_concert"} <= set(linked.tables)


def _wide_database(path: Path, tables: int = 40, columns: int = 10) -> None:
    topics = (
        "invoice shipment employee warehouse supplier patient vehicle flight course student "
        "library_book movie album recipe hotel ticket sensor account payment contract campaign "
        "device garden museum planet river mountain painting tournament player restaurant "
        "election vaccine satellite volcano bridge festival language currency crop"
    ).split()[:tables]
    attrs = "name code status category created_on amount weight rating region notes".split()
    attrs = attrs[:columns]
    con = sqlite3.connect(path)
    for t in topics:
        cols = ", ".join(f"{t}_{a} TEXT" for a in attrs)
        con.execute(f"CREATE TABLE {t} (id INTEGER PRIMARY KEY, {cols})")
        con.execute(
            f"INSERT INTO {t} VALUES (1, {', '.join('?' * len(attrs))})",
            [f"{t} {a} sample" for a in attrs],
        )
    con.execute(
        "INSERT INTO volcano (id, volcano_name, volcano_region) VALUES (2, 'Etna', 'Sicily')"
    )
    con.commit()
    con.close()


class CountingEncoder:
    def __init__(self) -> None:
        self.inner = load_embedder()
        self.texts = 0

    def encode(self, texts: list[str]):
        self.texts += len(texts)
        return self.inner.encode(texts)


def test_a_wide_schema_is_cut_to_what_the_question_needs(tmp_path):
    path = tmp_path / "wide.sqlite"
    _wide_database(path)
    db = Database(f"sqlite:///{path}")
    full = db.schema().ddl()
    encoder = CountingEncoder()
    linker = SchemaLinker(encoder)
    linker.index(db)  # built once per database: every column and table name embedded
    indexed = encoder.texts

    linked = linker.link(db, "What is the average rating of hotels in each region?")

    assert linked.tables[0] == "hotel"
    assert linked.total_columns == 40 * 11
    assert sum(len(c) for c in linked.columns.values()) <= 4 * 12
    assert len(linked.ddl(db.schema())) < len(full) / 5
    assert indexed >= 440 and encoder.texts - indexed < 30  # per call: only the question

    by_value = linker.link(db, "Which region is Etna in?")
    assert "volcano" in by_value.tables  # MiniLM alone ranks "mountain" first
    assert any(v.value == "Etna" for v in by_value.values)


def test_the_schema_is_cached_until_refreshed(linker, tmp_path):
    path = tmp_path / "grow.sqlite"
    con = sqlite3.connect(path)
    con.execute("CREATE TABLE orders (id INTEGER PRIMARY KEY, total REAL)")
    con.commit()
    db = Database(f"sqlite:///{path}")
    first = linker.index(db)
    con.execute("CREATE TABLE refunds (id INTEGER PRIMARY KEY, refund_amount REAL)")
    con.commit()
    con.close()

    assert linker.index(db) is first
    assert [t.name for t in db.schema().tables] == ["orders"]

    fresh = linker.index(db, refresh=True)
    assert fresh is not first
    assert {t.name for t in fresh.schema.tables} == {"orders", "refunds"}
    assert linker.link(db, "What is the total refund amount?").tables[0] == "refunds"


def test_every_value_of_one_column_the_question_names_is_linked(linker, spider_db):
    db, _ = spider_db("cre_Doc_Template_Mgt")

    linked = linker.link(db, "Show the document id with paragraph text 'Brazil' and 'Ireland'.")

    hits = {(v.table, v.column, v.value) for v in linked.values}
    assert {
        ("Paragraphs", "Paragraph_Text", "Brazil"),
        ("Paragraphs", "Paragraph_Text", "Ireland"),
    } <= hits


def test_a_place_adjective_links_the_place_it_names(linker, spider_db):
    db, _ = spider_db("world_1")

    linked = linker.link(db, "Which cities are in Asian countries where Chinese is official?")

    hits = {(v.table, v.column, v.value) for v in linked.values}
    assert ("country", "Continent", "Asia") in hits  # "Asian"
    assert ("countrylanguage", "Language", "Chinese") in hits  # a value itself: kept as is
