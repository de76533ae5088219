"""The read-only guard and read-only connections: nothing a question says can change data."""

from __future__ import annotations

import hashlib
import sqlite3
from pathlib import Path

import pytest

from podium.errors import SQLRefused
from podium.tools.sql import Database, check_read_only

HOSTILE = {
    "drop": "DROP TABLE customers",
    "delete": "DELETE FROM orders",
    "update": "UPDATE products SET price = 0",
    "insert": "INSERT INTO customers (id, name) VALUES (999, 'x')",
    "stacked": "SELECT 1; DROP TABLE orders",
    "comment_hidden": "SELECT 1 /* harmless */ ; DELETE FROM orders -- bye",
    "attach": "ATTACH DATABASE '/tmp/evil.db' AS evil",
    "pragma": "PRAGMA writable_schema = 1",
    "create": "CREATE TABLE t (x INT)",
    "alter": "ALTER TABLE orders ADD COLUMN x INT",
    "select_into": "SELECT * INTO backup FROM orders",
    "cte_delete": "WITH x AS (DELETE FROM orders RETURNING *) SELECT * FROM x",
    "load_extension": "SELECT load_extension('/tmp/evil.so')",
    "writefile": "SELECT writefile('/tmp/x', 'data')",
    "pg_sleep": "SELECT pg_sleep(100)",
    "vacuum_into": "VACUUM INTO '/tmp/copy.db'",
    "replace": "REPLACE INTO products (id) VALUES (1)",
    "empty": "   ",
}


@pytest.mark.parametrize("name", sorted(HOSTILE))
def test_hostile_sql_is_refused_with_a_reason(name):
    with pytest.raises(SQLRefused) as info:
        check_read_only(HOSTILE[name], "sqlite")
    assert info.value.message  # says why


@pytest.mark.parametrize(
    "sql",
    [
        "SELECT COUNT(*) FROM orders",
        "WITH big AS (SELECT * FROM orders WHERE total > 100) SELECT COUNT(*) FROM big",
        "SELECT name FROM customers UNION SELECT name FROM products",
        "SELECT 'DROP TABLE orders; --' AS innocent_text",
    ],
)
def test_plain_reads_pass(sql):
    check_read_only(sql, "sqlite")


def _digest(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def test_no_hostile_statement_reaches_the_file(demo):
    db_path = demo.root / "shop.sqlite"
    before = _digest(db_path)
    db = Database(demo.database_url())
    for sql in HOSTILE.values():
        with pytest.raises(SQLRefused):
            db.execute(sql)
    assert _digest(db_path) == before


def test_the_connection_itself_is_read_only(demo):
    """Even a write that slipped past the guard could not land: the file is opened mode=ro."""
    db = Database(demo.database_url())
    with db.engine.connect() as conn, pytest.raises(Exception, match="readonly"):
        conn.exec_driver_sql("DELETE FROM orders")


def test_row_cap_and_timeout(tmp_path):
    path = tmp_path / "big.sqlite"
    con = sqlite3.connect(path)
    con.execute("CREATE TABLE n (i INTEGER)")
    con.executemany("INSERT INTO n VALUES (?)", [(i,) for i in range(5000)])
    con.commit()
    con.close()
    db = Database(f"sqlite:///{path}", row_cap=100, timeout_s=0.5)
    result = db.execute("SELECT i FROM n")
    assert (result.row_count, result.truncated) == (100, True)
    with pytest.raises(SQLRefused, match="longer than"):
        db.execute("SELECT COUNT(*) FROM n a, n b, n c")
