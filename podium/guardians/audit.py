"""The audit log: every guardian verdict, hash-chained so that an edited, inserted or deleted
record is detected (``podium audit verify``).

Each record stores the hash of the record before it and its own hash over its fields and
that previous hash. Changing any stored field, removing a record or reordering records breaks
the chain at that point. (A chain is tamper-evident, not tamper-proof: someone who rewrites
every later record and hash too is caught only by comparing the head hash with one kept
elsewhere: :meth:`AuditLog.head` gives it.)
"""

from __future__ import annotations

import hashlib
import json
import threading
import time
from dataclasses import dataclass
from typing import Any

from sqlalchemy import Float, Integer, String, Text, create_engine, event, select
from sqlalchemy.orm import DeclarativeBase, Mapped, Session, mapped_column

GENESIS = "0" * 64
FIELDS = ("ts", "run_id", "stage", "guardian", "model", "action", "category", "score", "reason")


class _Base(DeclarativeBase):
    pass


class AuditRow(_Base):
    __tablename__ = "guard_audit"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    ts: Mapped[float] = mapped_column(Float)
    run_id: Mapped[str] = mapped_column(String(64), index=True)
    stage: Mapped[str] = mapped_column(String(16))
    guardian: Mapped[str] = mapped_column(String(128))
    model: Mapped[str] = mapped_column(String(256))
    action: Mapped[str] = mapped_column(String(16))
    category: Mapped[str] = mapped_column(String(128))
    score: Mapped[float] = mapped_column(Float)
    reason: Mapped[str] = mapped_column(Text)
    prev: Mapped[str] = mapped_column(String(64))
    hash: Mapped[str] = mapped_column(String(64))


def _sqlite_pragmas(conn: Any, _record: Any) -> None:
    # WAL + NORMAL: a commit survives a process crash without an fsync per verdict.
    cur = conn.cursor()
    cur.execute("PRAGMA journal_mode=WAL")
    cur.execute("PRAGMA synchronous=NORMAL")
    cur.close()


def record_hash(fields: dict[str, Any], prev: str) -> str:
    canon = {k: fields[k] for k in FIELDS}
    canon["score"] = round(float(canon["score"]), 6)
    canon["ts"] = round(float(canon["ts"]), 6)
    payload = json.dumps(canon, sort_keys=True, ensure_ascii=False, separators=(",", ":"))
    return hashlib.sha256((prev + payload).encode("utf-8")).hexdigest()


@dataclass
class VerifyReport:
    ok: bool
    records: int
    head: str
    problem: str = ""
    record_id: int | None = None


class AuditLog:
    """Append verdicts, verify the chain. ``url`` is any SQLAlchemy URL."""

    def __init__(self, url: str) -> None:
        self.url = url
        connect = {"timeout": 30, "check_same_thread": False} if url.startswith("sqlite") else {}
        self.engine = create_engine(url, connect_args=connect)
        if url.startswith("sqlite"):
            event.listen(self.engine, "connect", _sqlite_pragmas)
        _Base.metadata.create_all(self.engine)
        self._lock = threading.Lock()

    def append(self, run_id: str, stage: str, verdicts: list[dict[str, Any]]) -> list[str]:
        """Store verdicts (``Verdict.model_dump()`` dicts) in order; returns their hashes."""
        hashes = []
        with self._lock, Session(self.engine) as session, session.begin():
            last = session.scalars(select(AuditRow).order_by(AuditRow.id.desc()).limit(1)).first()
            prev = last.hash if last else GENESIS
            for v in verdicts:
                fields = {
                    "ts": round(time.time(), 6),
                    "run_id": run_id,
                    "stage": stage,
                    "guardian": str(v.get("guardian", "")),
                    "model": str(v.get("model", "")),
                    "action": str(v.get("action", "")),
                    "category": str(v.get("category", "")),
                    "score": round(float(v.get("score", 0.0)), 6),
                    "reason": str(v.get("reason", "")),
                }
                digest = record_hash(fields, prev)
                session.add(AuditRow(**fields, prev=prev, hash=digest))
                hashes.append(digest)
                prev = digest
        return hashes

    def records(self, run_id: str | None = None) -> list[dict[str, Any]]:
        with Session(self.engine) as session:
            query = select(AuditRow).order_by(AuditRow.id)
            if run_id:
                query = query.where(AuditRow.run_id == run_id)
            return [
                {c: getattr(r, c) for c in ("id", *FIELDS, "prev", "hash")}
                for r in session.scalars(query)
            ]

    def head(self) -> str:
        rows = self.records()
        return rows[-1]["hash"] if rows else GENESIS

    def verify(self) -> VerifyReport:
        """Walk the chain from the start; report the first record that does not fit."""
        prev, rows = GENESIS, self.records()
        for r in rows:
            if r["prev"] != prev:
                return VerifyReport(
                    False,
                    len(rows),
                    prev,
                    "a record before it was removed, added or reordered",
                    r["id"],
                )
            if record_hash(r, prev) != r["hash"]:
                return VerifyReport(
                    False, len(rows), prev, "its content was changed after it was written", r["id"]
                )
            prev = r["hash"]
        return VerifyReport(True, len(rows), prev)
