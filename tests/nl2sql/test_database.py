"""A query's timeout belongs to that query: the pooled connection it ran on must not carry
the deadline into later work (schema reads, value indexes, key inference)."""

from __future__ import annotations

import sqlite3
import time

from podium.tools.sql import Database


def test_reading_the_schema_after_a_query_is_not_cut_off_by_that_querys_deadline(tmp_path):
    path = tmp_path / "shop.sqlite"
    with sqlite3.connect(path) as con:
        con.execute("CREATE TABLE customers (id INTEGER PRIMARY KEY, name TEXT)")
        con.execute("CREATE TABLE orders (order_id INTEGER PRIMARY KEY, customer_id INTEGER)")
        con.executemany("INSERT INTO customers VALUES (?, ?)", [(i, f"c{i}") for i in range(500)])
        con.executemany("INSERT INTO orders VALUES (?, ?)", [(i, i % 500) for i in range(50_000)])
    db = Database(f"sqlite:///{path}", timeout_s=0.05, infer_keys=True)
    assert db.execute("SELECT count(*) FROM customers").rows == [(500,)]
    time.sleep(0.1)  # that query's deadline has passed

    schema = db.schema()  # scans every order to check the inferred key's values

    assert [k.target for k in schema.inferred_keys] == ["customers(id)"]
