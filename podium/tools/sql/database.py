"""Databases by SQLAlchemy URL: read-only connections, schema introspection, guarded queries.

Two locks keep data safe: every query passes :func:`check_read_only` (the AST allow-list), and
the connection itself is read-only where the dialect allows it — SQLite is opened with
``mode=ro`` from a ``file:`` URI built by percent-encoding the path (a ``#`` or ``?`` in a
file name cannot end the URI early and drop the mode) and with ``PRAGMA query_only``;
PostgreSQL sessions default to read-only transactions with a statement timeout and connect
with a timeout, so an unanswering host cannot hold a caller for long.
"""

from __future__ import annotations

import copy
import re
import sqlite3
import threading
import time
import urllib.parse
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import sqlalchemy as sa
import sqlglot
import sqlglot.errors
from sqlalchemy.engine import Engine, make_url
from sqlalchemy.exc import SQLAlchemyError

from podium.errors import ConfigError, SQLRefused

from .guard import check_read_only
from .keys import InferredKey, infer_foreign_keys
from .tables import ColumnInfo, TableInfo

_SQLGLOT_DIALECTS = {"postgresql": "postgres", "mssql": "tsql", "sqlite": "sqlite"}


@dataclass
class SchemaInfo:
    tables: list[TableInfo]
    inferred_keys: list[InferredKey] = field(default_factory=list)  # shown as REFERENCES too

    def table(self, name: str) -> TableInfo:
        for t in self.tables:
            if t.name.lower() == name.lower():
                return t
        raise KeyError(name)

    def ddl(self, samples: bool = True) -> str:
        return "\n".join(t.ddl(samples=samples) for t in self.tables)


@dataclass
class QueryResult:
    """What a query returned. ``rows`` stops at the database's row cap (``truncated``);
    ``row_count`` is how many rows the whole result has — counted by the database when the
    rows were cut, so "1,500 orders" is never reported as "1,000" — or ``len(rows)`` when that
    count could not be taken."""

    sql: str
    columns: list[str]
    rows: list[tuple[Any, ...]]
    row_count: int
    truncated: bool
    ms: float

    def as_dict(self, max_rows: int = 20) -> dict[str, Any]:
        return {
            "sql": self.sql,
            "columns": self.columns,
            "rows": [list(r) for r in self.rows[:max_rows]],
            "row_count": self.row_count,
            "truncated": self.truncated or self.row_count > max_rows,
        }


class Database:
    """One database, opened read-only, with a cached schema."""

    def __init__(
        self,
        url: str,
        *,
        row_cap: int = 1000,
        timeout_s: float = 10.0,
        infer_keys: bool = False,
    ) -> None:
        self.url = url
        self.infer_keys = infer_keys  # add foreign keys the schema does not declare (keys.py)
        self.row_cap = row_cap
        self.timeout_s = timeout_s
        self.engine = _read_only_engine(url, timeout_s)
        self.dialect = _SQLGLOT_DIALECTS.get(self.engine.dialect.name, self.engine.dialect.name)
        self._schema: SchemaInfo | None = None
        self._keyed: list[TableInfo] | None = None
        self._lock = threading.Lock()

    # -- schema ---------------------------------------------------------------------------

    def schema(self, refresh: bool = False, sample_values: int = 3) -> SchemaInfo:
        with self._lock:
            if self._schema is None or refresh:
                self._schema = self._introspect(sample_values)
                self._keyed = None  # inferred again from the schema just read
            return self._schema

    def _introspect(self, sample_values: int) -> SchemaInfo:
        try:
            insp = sa.inspect(self.engine)
            tables = []
            for name in insp.get_table_names():
                pks = set(insp.get_pk_constraint(name).get("constrained_columns") or [])
                fks = {}
                for fk in insp.get_foreign_keys(name):
                    for col, ref in zip(
                        fk["constrained_columns"], fk["referred_columns"], strict=False
                    ):
                        fks[col] = f"{fk['referred_table']}({ref})"
                columns = [
                    ColumnInfo(
                        name=c["name"],
                        type=str(c["type"]),
                        primary_key=c["name"] in pks,
                        foreign_key=fks.get(c["name"]),
                    )
                    for c in insp.get_columns(name)
                ]
                table = TableInfo(name=name, columns=columns)
                self._add_samples(table, sample_values)
                tables.append(table)
            inferred = self._inferred_keys(tables) if self.infer_keys else []
        except SQLAlchemyError as exc:
            raise ConfigError(
                f"cannot read the schema of {self.safe_url}: {_first_line(exc)}",
                hint="check the URL, that the server is reachable and the user may read it",
            ) from exc
        return SchemaInfo(tables, inferred_keys=inferred)

    def keyed_tables(self) -> list[TableInfo]:
        """The schema's tables with the foreign keys the data shows but no constraint
        declares (keys.py) filled in: what Podium's own checks of a query read (its shape
        checks and join repair judge joins by the keys). ``world_1`` of the Spider slice
        declares none, so without them those checks never fired on a quarter of its
        questions. The schema the models read keeps only the declared keys unless
        ``infer_keys`` is set: shown the inferred ones, the 1.5B did no better there
        (docs/benchmark-history.md)."""
        schema = self.schema()
        if schema.inferred_keys:  # already in the schema (``infer_keys``)
            return schema.tables
        if self._keyed is None:  # two threads may both infer them: the same result
            tables = copy.deepcopy(schema.tables)
            self._keyed = tables if self._inferred_keys(tables) else schema.tables
        return self._keyed

    def _inferred_keys(self, tables: list[TableInfo]) -> list[InferredKey]:
        try:
            with self.engine.connect() as conn:
                quote = self.engine.dialect.identifier_preparer.quote
                keys = infer_foreign_keys(conn, tables, quote)
        except SQLAlchemyError:  # an aid, not a requirement: the declared schema still stands
            return []
        by_name = {t.name: t for t in tables}
        for k in keys:
            column = next(c for c in by_name[k.table].columns if c.name == k.column)
            column.foreign_key = k.target
        return keys

    def _add_samples(self, table: TableInfo, k: int) -> None:
        quote = self.engine.dialect.identifier_preparer.quote
        with self.engine.connect() as conn:
            table.row_count = conn.execute(
                sa.text(f"SELECT COUNT(*) FROM {quote(table.name)}")
            ).scalar()
            if not k:
                return
            for col in table.columns:
                rows = conn.execute(
                    sa.text(
                        f"SELECT DISTINCT {quote(col.name)} FROM {quote(table.name)} "
                        f"WHERE {quote(col.name)} IS NOT NULL LIMIT {int(k)}"
                    )
                ).fetchall()
                col.samples = [_short(r[0]) for r in rows]

    # -- queries --------------------------------------------------------------------------

    def execute(self, sql: str) -> QueryResult:
        """Run one read-only query with a row cap and a timeout; refuse anything else."""
        check_read_only(sql, self.dialect)
        start = time.perf_counter()
        try:
            with self.engine.connect() as conn:
                _arm_timeout(conn, self.timeout_s)
                try:
                    result = conn.execute(sa.text(_escape_colons(sql)))
                    columns = list(result.keys())
                    rows = [tuple(r) for r in result.fetchmany(self.row_cap + 1)]
                    result.close()
                    total = self._count(conn, sql) if len(rows) > self.row_cap else None
                    conn.rollback()
                finally:  # the pooled connection must not keep this query's deadline
                    _disarm_timeout(conn)
        except SQLAlchemyError as exc:
            message = _first_line(exc)
            if "interrupted" in message.lower() or "statement timeout" in message.lower():
                raise SQLRefused(f"the query ran longer than {self.timeout_s:g} s") from exc
            if "readonly" in message.lower() or "read-only" in message.lower():
                raise SQLRefused(f"the database refused a write: {message}") from exc
            raise QueryFailed(message) from exc
        truncated = len(rows) > self.row_cap
        rows = rows[: self.row_cap]
        return QueryResult(
            sql=sql,
            columns=columns,
            rows=rows,
            row_count=max(total or 0, len(rows)),
            truncated=truncated,
            ms=(time.perf_counter() - start) * 1000,
        )

    def _count(self, conn: sa.Connection, sql: str) -> int | None:
        """How many rows ``sql`` returns in all (it passed the guard; this wraps it in a
        ``COUNT(*)`` on the same connection and deadline). None when that fails or times out."""
        try:
            inner = sqlglot.parse_one(sql.strip().rstrip(";"), read=self.dialect)
            if not isinstance(inner, sqlglot.exp.Query):
                return None
            counting = sqlglot.select("COUNT(*)").from_(inner.subquery("podium_all"))
            value = conn.execute(
                sa.text(_escape_colons(counting.sql(dialect=self.dialect)))
            ).scalar()
        except (SQLAlchemyError, sqlglot.errors.SqlglotError):
            return None
        return int(value) if isinstance(value, int) else None

    @property
    def safe_url(self) -> str:
        """The URL without its password, for messages and events."""
        return redact_url(self.url)

    def close(self) -> None:
        self.engine.dispose()


class QueryFailed(Exception):
    """The database rejected a (read-only) query: a wrong column, a type error, ..."""


_DATABASES: dict[str, Database] = {}
_DATABASES_LOCK = threading.Lock()


def open_database(url: str) -> Database:
    """A shared :class:`Database` per URL, so schemas are introspected once per process."""
    with _DATABASES_LOCK:
        if url not in _DATABASES:
            _DATABASES[url] = Database(url)
        return _DATABASES[url]


CONNECT_TIMEOUT_S = 5
_SECRET_KEY = re.compile(r"pass|secret|token|key|auth|cred", re.I)


def redact_url(url: str) -> str:
    """A URL safe to show: its password and any secret-looking query value hidden.

    ``?password=...`` and ``?sslpassword=...`` carry secrets too; an unparsable URL is shown
    as a placeholder rather than echoed back.
    """
    try:
        parsed = make_url(url)
    except Exception:
        return "(invalid URL)"
    query = {k: ("***" if _SECRET_KEY.search(k) else v) for k, v in parsed.query.items()}
    return parsed.set(query=query).render_as_string(hide_password=True)


def sqlite_read_only_uri(path: Path) -> str:
    """``file:`` URI of an existing file with ``mode=ro``; every special character of the
    path is percent-encoded, so nothing in a file name can change the URI's meaning."""
    return "file:" + urllib.parse.quote(str(path), safe="/") + "?mode=ro"


def sqlite_read_only_engine(path: Path) -> Engine:
    """An engine that opens ``path`` read-only (``mode=ro`` and ``PRAGMA query_only``); it
    never creates the file."""
    uri = sqlite_read_only_uri(path)

    def connect() -> sqlite3.Connection:
        conn = sqlite3.connect(uri, uri=True, check_same_thread=False, timeout=CONNECT_TIMEOUT_S)
        conn.execute("PRAGMA query_only = ON")
        return conn

    return sa.create_engine("sqlite://", creator=connect)


def _read_only_engine(url: str, timeout_s: float) -> Engine:
    try:
        parsed = make_url(url)
    except Exception as exc:
        raise ConfigError(
            f"{redact_url(url)} is not a SQLAlchemy URL",
            hint="e.g. sqlite:///shop.db or postgresql+psycopg://user@host/db",
        ) from exc
    backend = parsed.get_backend_name()
    if backend == "sqlite":
        database = parsed.database or ""
        if not database or database == ":memory:":
            raise ConfigError("an in-memory SQLite database has nothing to query")
        path = Path(database).expanduser().resolve()
        if not path.is_file():
            raise ConfigError(
                f"SQLite database {path} does not exist",
                hint="check the path in podium.toml (relative paths are workspace-relative)",
            )
        return sqlite_read_only_engine(path)
    if backend == "postgresql":
        options = (
            f"-c default_transaction_read_only=on -c statement_timeout={int(timeout_s * 1000)}"
        )
        return sa.create_engine(
            parsed,
            connect_args={"options": options, "connect_timeout": CONNECT_TIMEOUT_S},
            pool_pre_ping=True,
        )
    try:
        return sa.create_engine(parsed, pool_pre_ping=True)
    except Exception as exc:
        raise ConfigError(f"cannot open {redact_url(url)}: {type(exc).__name__}") from exc


def _arm_timeout(conn: sa.Connection, timeout_s: float) -> None:
    """SQLite has no statement timeout: abort from its progress handler past the deadline."""
    if conn.dialect.name != "sqlite":
        return
    raw = conn.connection.dbapi_connection
    deadline = time.monotonic() + timeout_s
    raw.set_progress_handler(lambda: int(time.monotonic() > deadline), 10_000)  # type: ignore[union-attr]


def _disarm_timeout(conn: sa.Connection) -> None:
    if conn.dialect.name == "sqlite" and not conn.invalidated:
        conn.connection.dbapi_connection.set_progress_handler(None, 0)  # type: ignore[union-attr]


def _escape_colons(sql: str) -> str:
    """``sa.text`` treats ``:name`` as a bind parameter; queries here have none."""
    return sql.replace(":", r"\:")


def _short(value: Any) -> Any:
    if isinstance(value, str) and len(value) > 40:
        return value[:37] + "..."
    if isinstance(value, bytes):
        return f"<{len(value)} bytes>"
    return value


def _first_line(exc: BaseException) -> str:
    text = str(getattr(exc, "orig", None) or exc).strip().splitlines()
    return text[0] if text else type(exc).__name__
