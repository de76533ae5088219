"""Foreign keys a schema does not declare: inferred when the name and the data agree, shown
to the model as REFERENCES, never invented from a name alone."""

from __future__ import annotations

import sqlite3
from pathlib import Path

from podium.tools.sql import Database


def _shop(path: Path, orders_customer: list[int]) -> str:
    with sqlite3.connect(path) as conn:
        conn.executescript(
            """
            CREATE TABLE customers (id INTEGER PRIMARY KEY, name TEXT);
            CREATE TABLE products (product_code TEXT PRIMARY KEY, title TEXT);
            CREATE TABLE orders (
                order_id INTEGER PRIMARY KEY, customer_id INTEGER, product_code TEXT,
                quantity INTEGER
            );
            INSERT INTO customers VALUES (1, 'Ada'), (2, 'Grace'), (3, 'Edsger');
            INSERT INTO products VALUES ('P1', 'pen'), ('P2', 'pad');
            """
        )
        conn.executemany(
            "INSERT INTO orders VALUES (?, ?, ?, ?)",
            [(i, c, "P1" if i % 2 else "P2", 3) for i, c in enumerate(orders_customer)],
        )
    return f"sqlite:///{path}"


def test_a_column_named_after_a_table_whose_values_are_its_keys_becomes_a_foreign_key(tmp_path):
    db = Database(_shop(tmp_path / "shop.sqlite", [1, 2, 2, 3]), infer_keys=True)

    schema = db.schema()

    orders = schema.table("orders")
    refs = {c.name: c.foreign_key for c in orders.columns}
    assert refs == {
        "order_id": None,
        "customer_id": "customers(id)",
        "product_code": "products(product_code)",
        "quantity": None,
    }
    assert {(k.table, k.column, k.overlap) for k in schema.inferred_keys} == {
        ("orders", "customer_id", 1.0),
        ("orders", "product_code", 1.0),
    }
    assert "customer_id INTEGER REFERENCES customers(id)" in schema.ddl()


def test_a_matching_name_without_matching_values_is_not_a_foreign_key(tmp_path):
    db = Database(_shop(tmp_path / "shop.sqlite", [7, 8, 9, 1]), infer_keys=True)

    refs = {c.name: c.foreign_key for c in db.schema().table("orders").columns}

    assert refs["customer_id"] is None  # only 1 of 4 distinct values is a customer id
    assert refs["product_code"] == "products(product_code)"


def test_keys_are_inferred_only_when_asked(tmp_path):
    db = Database(_shop(tmp_path / "shop.sqlite", [1, 2]))

    schema = db.schema()

    assert schema.inferred_keys == []
    assert all(c.foreign_key is None for c in schema.table("orders").columns)


def test_world_1_gets_the_country_keys_its_file_does_not_declare(spider_db):
    db, path = spider_db("world_1")
    inferred = Database(f"sqlite:///{path}", infer_keys=True)

    assert all(c.foreign_key is None for t in db.schema().tables for c in t.columns)
    assert {(k.table, k.column, k.target) for k in inferred.schema().inferred_keys} == {
        ("city", "CountryCode", "country(Code)"),
        ("countrylanguage", "CountryCode", "country(Code)"),
    }
    inferred.close()


def test_declared_keys_are_kept_and_nothing_is_added_beside_them(spider_db):
    _, path = spider_db("concert_singer")
    db = Database(f"sqlite:///{path}", infer_keys=True)

    schema = db.schema()

    assert schema.inferred_keys == []
    assert schema.table("singer_in_concert").columns[1].foreign_key == "singer(Singer_ID)"
    db.close()
