"""Schema migrations (Alembic): every store brings its database to the newest schema when it
opens, so a store written by an older Podium opens in a newer one.

The migration scripts live in ``podium/memory/migrations/versions``; they are written against
SQLAlchemy types only, so the same scripts run on SQLite and PostgreSQL.
"""

from __future__ import annotations

import threading
from functools import cache
from pathlib import Path

import sqlalchemy as sa
from alembic.config import Config
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy.engine import Engine

from .tables import Base

target_metadata = Base.metadata
MIGRATIONS = Path(__file__).parent / "migrations"
_lock = threading.Lock()
_done: set[str] = set()


def alembic_config(engine: Engine | None = None) -> Config:
    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS))
    if engine is not None:
        config.set_main_option("sqlalchemy.url", engine.url.render_as_string(hide_password=False))
    return config


@cache
def head_revision() -> str:
    head = ScriptDirectory.from_config(alembic_config()).get_current_head()
    assert head is not None
    return head


def current_revision(engine: Engine) -> str | None:
    with engine.connect() as conn:
        return MigrationContext.configure(conn).get_current_revision()


def migrate(engine: Engine) -> None:
    """Upgrade the database behind ``engine`` to the newest schema (a no-op when it is)."""
    key = engine.url.render_as_string(hide_password=False)
    if key in _done and ":memory:" not in key:
        return
    with _lock:
        if current_revision(engine) != head_revision():
            _upgrade(engine)
        _done.add(key)


def _upgrade(engine: Engine) -> None:
    from alembic import command

    config = alembic_config()
    for attempt in range(3):
        try:
            with engine.begin() as conn:
                config.attributes["connection"] = conn
                command.upgrade(config, "head")
            return
        except (sa.exc.OperationalError, sa.exc.IntegrityError, sa.exc.ProgrammingError):
            # Another process migrated the same database at the same moment: look again.
            if current_revision(engine) == head_revision():
                return
            if attempt == 2:
                raise
