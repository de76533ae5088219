"""Fixtures for the NL2SQL tests: Spider databases copied to a temporary folder (so a bug
could never touch the shared data), a statement recorder, the embedded models."""

from __future__ import annotations

import hashlib
import shutil
from collections.abc import Iterator
from pathlib import Path

import pytest
import sqlalchemy as sa

from podium.tools.sql import Database


@pytest.fixture(scope="session")
def spider(shared_data: Path) -> Path:
    return shared_data / "spider"


@pytest.fixture
def spider_db(spider: Path, tmp_path: Path) -> Iterator[callable]:
    """``spider_db("concert_singer")`` -> (Database, path of its private copy)."""
    opened: list[Database] = []

    def make(db_id: str) -> tuple[Database, Path]:
        path = tmp_path / f"{db_id}.sqlite"
        shutil.copyfile(spider / "database" / db_id / f"{db_id}.sqlite", path)
        db = Database(f"sqlite:///{path}")
        opened.append(db)
        return db, path

    yield make
    for db in opened:
        db.close()


@pytest.fixture
def spider_gold(spider: Path) -> Iterator[list[tuple[dict, Database]]]:
    """Every question of the shared Spider slice with its gold query, and its database (read
    in place: these tests only read)."""
    import json

    from podium.experts.nl2sql.evaluate import _db_path

    opened: dict[str, Database] = {}
    items = json.loads((spider / "dev.json").read_text())
    yield [
        (
            item,
            opened.setdefault(
                item["db_id"], Database(f"sqlite:///{_db_path(spider, item['db_id'])}")
            ),
        )
        for item in items
    ]
    for db in opened.values():
        db.close()


def sqlite_database(folder: Path, script: str) -> Database:
    """A small SQLite database made by ``script`` in ``folder`` (the tests' own shops)."""
    import sqlite3

    path = folder / "shop.sqlite"
    con = sqlite3.connect(path)
    con.executescript(script)
    con.commit()
    con.close()
    return Database(f"sqlite:///{path}")


def digest(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


class StatementLog:
    """Every statement that reaches the database driver, recorded below the guard."""

    def __init__(self, db: Database) -> None:
        self.statements: list[str] = []
        sa.event.listen(db.engine, "before_cursor_execute", self._record)

    def _record(self, conn, cursor, statement, parameters, context, executemany) -> None:
        self.statements.append(statement)

    def non_selects(self) -> list[str]:
        return [s for s in self.statements if not s.lstrip().upper().startswith(("SELECT", "WITH"))]
