"""The LangGraph checkpointer of a workspace: a SQLite file by default, PostgreSQL by URL.

    [store]
    url = "postgresql+psycopg://podium:secret@db:5432/podium"   # runs, steps, events
    checkpoint_url = ""   # default: the store's URL when it is PostgreSQL, else a SQLite file

PostgreSQL uses ``langgraph-checkpoint-postgres`` (``AsyncPostgresSaver``); its tables are
created once per process by the saver's own ``setup()``.
"""

from __future__ import annotations

import contextlib
import sqlite3
import threading
from collections.abc import AsyncIterator
from pathlib import Path

import sqlalchemy as sa
from langgraph.checkpoint.base import BaseCheckpointSaver

from podium.errors import ConfigError, StoreUnavailable

from .engine import busy_timeout_s

_ready: set[str] = set()
_lock = threading.Lock()


def is_postgres(url: str) -> bool:
    return url.startswith(("postgresql", "postgres:"))


def libpq_url(url: str) -> str:
    """``postgresql+psycopg://...`` (SQLAlchemy's spelling) as the URL psycopg itself takes."""
    return (
        sa.engine.make_url(url).set(drivername="postgresql").render_as_string(hide_password=False)
    )


def sqlite_path(url: str) -> Path:
    if not url.startswith("sqlite:///"):
        raise ConfigError(
            f"unsupported checkpoint URL {url!r}",
            hint="use sqlite:///path/checkpoints.sqlite or postgresql+psycopg://user@host/db",
        )
    return Path(url.removeprefix("sqlite:///"))


def prepare(url: str) -> None:
    """Create the checkpoint tables once per process and URL (before concurrent runs race)."""
    with _lock:
        if url in _ready:
            return
        if is_postgres(url):
            _setup_postgres(url)
        else:
            from langgraph.checkpoint.sqlite import SqliteSaver

            # SQLite also switches to WAL here, once: per-run connections would race for it.
            conn = sqlite3.connect(sqlite_path(url), timeout=30, check_same_thread=False)
            try:
                SqliteSaver(conn).setup()
            finally:
                conn.close()
        _ready.add(url)


def _setup_postgres(url: str) -> None:
    try:
        from langgraph.checkpoint.postgres import PostgresSaver
    except ImportError as exc:
        raise ConfigError(
            "a PostgreSQL checkpointer needs langgraph-checkpoint-postgres",
            hint="pip install 'podium[scale]'",
        ) from exc
    import psycopg

    try:
        with PostgresSaver.from_conn_string(libpq_url(url)) as saver:
            saver.setup()
    except psycopg.OperationalError as exc:
        raise StoreUnavailable(
            f"cannot reach the checkpoint database {_safe(url)}: {exc}".strip(),
            hint="check the server is up and the URL (scripts/postgres.sh starts one locally)",
        ) from exc


@contextlib.asynccontextmanager
async def open_checkpointer(url: str) -> AsyncIterator[BaseCheckpointSaver]:
    """A saver on its own connection, for one run."""
    prepare(url)
    if is_postgres(url):
        from langgraph.checkpoint.postgres.aio import AsyncPostgresSaver

        async with AsyncPostgresSaver.from_conn_string(libpq_url(url)) as saver:
            yield saver
    else:
        import aiosqlite
        from langgraph.checkpoint.sqlite.aio import AsyncSqliteSaver

        # A connection per run that waits for the write lock as long as the store does.
        # aiosqlite's default 5 s failed 9 of 50 concurrent server sessions; one connection
        # shared by every run on a loop removed the failures but halved throughput (each run's
        # reads queued behind every other run's writes), so: own connection, long wait.
        async with aiosqlite.connect(str(sqlite_path(url)), timeout=busy_timeout_s()) as conn:
            yield AsyncSqliteSaver(conn)


def _safe(url: str) -> str:
    return sa.engine.make_url(url).render_as_string(hide_password=True)
