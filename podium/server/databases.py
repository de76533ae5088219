"""Connecting a database from the page: an allow-list, a read-only probe off the event loop.

The page lets anyone who can reach the server name a database URL, so the URL is treated as
hostile: only listed dialects; SQLite only for an existing file inside the workspace folder
and never under ``.podium/`` (the run store, checkpoints and audit log live there); PostgreSQL
only on the hosts the server allows (loopback by default) and never on the server's own port.
The probe opens the database read-only (SQLite by a percent-encoded ``mode=ro`` URI, so no
file is created) in a worker thread, with a connect timeout and an overall deadline, so an
address that never answers cannot stall the event loop. Every refusal is one generic message
that neither says whether a file exists nor echoes a secret.
"""

from __future__ import annotations

import asyncio
from dataclasses import dataclass, field
from pathlib import Path

import sqlalchemy as sa

from podium.errors import InputRejected
from podium.tools.sql.database import (
    CONNECT_TIMEOUT_S,
    _read_only_engine,
    redact_url,
    sqlite_read_only_engine,
)
from podium.workspace import Workspace

LOOPBACK_DB_HOSTS = ("127.0.0.1", "localhost", "::1", "")
POSTGRES_DRIVERS = ("postgresql", "postgresql+psycopg", "postgresql+psycopg2")


@dataclass(frozen=True)
class DatabasePolicy:
    """Which databases the page may connect. ``hosts``: PostgreSQL hosts allowed ("" is a
    Unix socket); ``probe_timeout_s``: the whole probe's deadline."""

    hosts: tuple[str, ...] = LOOPBACK_DB_HOSTS
    probe_timeout_s: float = 10.0
    own_ports: set[int] = field(default_factory=set)


class DatabaseRefused(InputRejected):
    """One message for every refusal: no file-existence oracle, no secret echoed."""

    def __init__(self, url: str, reason: str = "") -> None:
        super().__init__(
            f"cannot connect {redact_url(url)}" + (f": {reason}" if reason else ""),
            hint="SQLite: an existing database file inside the workspace folder (not under "
            ".podium/), e.g. sqlite:///shop.sqlite; PostgreSQL: postgresql+psycopg://user@host/db "
            "on a host this server allows (podium serve --db-host)",
        )


@dataclass(frozen=True)
class Allowed:
    """A URL that passed the allow-list: what to save in podium.toml and how to open it."""

    saved_url: str
    sqlite_path: Path | None = None


def allow(url: str, ws: Workspace, policy: DatabasePolicy) -> Allowed:
    """The allow-list check, before anything is opened."""
    try:
        parsed = sa.engine.make_url(url)
    except Exception:
        raise DatabaseRefused(url, "not a SQLAlchemy URL") from None
    driver = parsed.drivername
    if driver == "sqlite":
        return Allowed(*_sqlite(url, parsed.database or "", parsed, ws))
    if driver in POSTGRES_DRIVERS:
        host = (parsed.host or "").strip("[]").lower()
        if host not in policy.hosts:
            raise DatabaseRefused(url, f"host {host or '(socket)'} is not allowed")
        if host and (parsed.port or 5432) in policy.own_ports:
            raise DatabaseRefused(url, "that is this server's own port")
        return Allowed(url)
    raise DatabaseRefused(url, f"dialect {driver!r} is not supported")


def _sqlite(
    url: str, database: str, parsed: sa.engine.URL, ws: Workspace
) -> tuple[str, Path | None]:
    if parsed.query or not database or database.startswith(":memory:") or "\x00" in database:
        raise DatabaseRefused(url)
    root = ws.root.resolve()
    try:
        path = (root / Path(database).expanduser()).resolve(strict=True)
    except (OSError, RuntimeError, ValueError):
        raise DatabaseRefused(url) from None
    private = (root / ".podium").resolve()
    if (
        not path.is_relative_to(root)
        or path == private
        or path.is_relative_to(private)
        or not path.is_file()
    ):
        raise DatabaseRefused(url)
    return f"sqlite:///{path.relative_to(root).as_posix()}", path


async def probe(url: str, allowed: Allowed, policy: DatabasePolicy) -> list[str]:
    """The database's tables, read off the event loop within ``probe_timeout_s``."""

    def tables() -> list[str]:
        if allowed.sqlite_path is not None:
            engine = sqlite_read_only_engine(allowed.sqlite_path)
        else:
            engine = _read_only_engine(url, float(CONNECT_TIMEOUT_S))
        try:
            with engine.connect() as conn:
                conn.execute(sa.text("SELECT 1"))
                return list(sa.inspect(conn).get_table_names())
        finally:
            engine.dispose()

    try:
        found = await asyncio.wait_for(asyncio.to_thread(tables), policy.probe_timeout_s)
    except TimeoutError:
        raise DatabaseRefused(url, f"no answer within {policy.probe_timeout_s:g} s") from None
    except Exception as exc:  # driver errors carry hosts, paths and sometimes secrets
        reason = "its driver is not installed" if isinstance(exc, ImportError) else ""
        raise DatabaseRefused(url, reason or "it did not answer as a database") from None
    if not found:
        raise DatabaseRefused(url, "it has no tables")
    return found
