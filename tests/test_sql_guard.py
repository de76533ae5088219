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
    # Only the first 100 rows are read, but the result knows how many there are in all.
    assert (len(result.rows), result.row_count, result.truncated) == (100, 5000, True)
    assert db.execute("SELECT i FROM n WHERE i < 100;").row_count == 100
    with pytest.raises(SQLRefused, match="longer than"):
        db.execute("SELECT COUNT(*) FROM n a, n b, n c")


# PostgreSQL functions that passed the old deny-list (red-team pass): side effects, other
# connections, files, locks, signals. The guard now allows only listed read-only functions.
PG_SIDE_EFFECTS = {
    "dblink_connect": "SELECT dblink_connect('host=10.0.0.1 dbname=x')",
    "dblink_send_query": "SELECT dblink_send_query('c', 'DELETE FROM orders')",
    "query_to_xml_and_xmlschema": "SELECT query_to_xml_and_xmlschema('SELECT 1', true, true, '')",
    "lo_from_bytea": "SELECT lo_from_bytea(0, 'x')",
    "pg_file_write": "SELECT pg_file_write('/tmp/x', 'data', false)",
    "pg_try_advisory_lock": "SELECT pg_try_advisory_lock(42)",
    "pg_advisory_lock_shared": "SELECT pg_advisory_lock_shared(42)",
    "pg_notify": "SELECT pg_notify('channel', 'payload')",
    "pg_promote": "SELECT pg_promote()",
    "current_setting": "SELECT current_setting('data_directory')",
    "qualified pg_sleep": "SELECT pg_catalog.pg_sleep(100)",
    "in a subquery": "SELECT * FROM orders WHERE id IN (SELECT pg_notify('c', 'x'))",
}


@pytest.mark.parametrize("name", sorted(PG_SIDE_EFFECTS))
def test_postgres_functions_off_the_allow_list_are_refused(name):
    with pytest.raises(SQLRefused, match=r"not on the list|not allowed"):
        check_read_only(PG_SIDE_EFFECTS[name], "postgres")


def test_everyday_postgres_questions_pass_the_function_allow_list():
    for sql in [
        "SELECT to_char(invoice_date, 'YYYY'), date_part('year', invoice_date), "
        "EXTRACT(MONTH FROM invoice_date), now(), string_agg(name, ', '), COUNT(*), "
        "ROUND(AVG(total)::numeric, 2), COALESCE(city, '?'), CAST(total AS INT), "
        "UPPER(name), LENGTH(name), date_trunc('month', invoice_date) FROM invoice GROUP BY 1",
        "SELECT CASE WHEN total > 10 THEN 'big' ELSE 'small' END, total BETWEEN 1 AND 2, "
        "name LIKE 'A%', SUBSTRING(name FROM 1 FOR 2), EXISTS (SELECT 1) FROM invoice",
        "SELECT replace(name, 'a', 'b'), split_part(email, '@', 2) FROM customer",
    ]:
        check_read_only(sql, "postgres")


def test_the_replace_string_function_is_not_mistaken_for_a_write():
    check_read_only("SELECT replace(name, 'a', 'b') FROM products", "sqlite")
    with pytest.raises(SQLRefused):
        check_read_only("REPLACE INTO products (id) VALUES (1)", "sqlite")
