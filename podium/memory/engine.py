"""The SQLAlchemy engine every store opens: SQLite with WAL and a busy timeout, or a pooled
server database (PostgreSQL) by URL. Imports no other store module, so any of them can use it.
"""

from __future__ import annotations

import os
from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import Engine


def busy_timeout_s() -> float:
    """How long a write waits (SQLite retries internally) for a lock held by someone else."""
    return float(os.environ.get("PODIUM_STORE_BUSY_TIMEOUT_S", "30"))


def make_engine(url: str) -> Engine:
    """An engine for the store; SQLite gets WAL and a busy timeout so readers never block."""
    if url.startswith("sqlite"):
        engine = sa.create_engine(
            url, connect_args={"timeout": busy_timeout_s(), "check_same_thread": False}
        )

        @sa.event.listens_for(engine, "connect")
        def _pragmas(dbapi_conn: Any, _record: Any) -> None:
            cur = dbapi_conn.cursor()
            cur.execute("PRAGMA journal_mode=WAL")
            cur.execute("PRAGMA foreign_keys=ON")
            cur.execute("PRAGMA synchronous=NORMAL")
            cur.close()

        return engine
    # A server database (PostgreSQL): a pool per process, sized for concurrent runs and the
    # writer thread; connections checked before use survive a database restart.
    return sa.create_engine(
        url,
        pool_pre_ping=True,
        pool_size=int(os.environ.get("PODIUM_STORE_POOL_SIZE", "5")),
        max_overflow=int(os.environ.get("PODIUM_STORE_POOL_OVERFLOW", "10")),
        pool_recycle=1800,
    )
