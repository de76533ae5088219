"""Long-term memory: facts a user stated, recalled by meaning, deletable.

    facts = FactStore(workspace.store_url)
    facts.remember("My invoices go to billing@acme.test", scope="user:42")
    facts.recall("where should the invoice be sent?", scope="user:42")

Each fact is stored with its embedding (float32 bytes in the same SQL store), so recall needs
no separate index: the facts of one scope are few enough (thousands) for an exact cosine
search in numpy. ``forget`` deletes the row, so a forgotten fact is gone everywhere.
"""

from __future__ import annotations

import threading
from typing import Any

import numpy as np
import sqlalchemy as sa
from sqlalchemy.orm import Session

from podium.errors import InputRejected

from .engine import make_engine
from .schema import migrate
from .tables import FactRow


class FactStore:
    """Remember, recall and forget facts per scope (a user, a workspace, a conversation)."""

    def __init__(self, url: str, *, embeddings: str = "local:minilm") -> None:
        self.engine = make_engine(url)
        migrate(self.engine)
        self.embeddings = embeddings
        self._embedder: Any = None
        self._lock = threading.Lock()

    @property
    def embedder(self) -> Any:
        with self._lock:
            if self._embedder is None:
                from podium.models.embeddings import load_embedder

                self._embedder = load_embedder(self.embeddings)
            return self._embedder

    def remember(
        self, text: str, *, scope: str = "default", conversation_id: str | None = None
    ) -> int:
        text = " ".join(text.split())
        if not text:
            raise InputRejected("a fact to remember cannot be empty")
        vector = self.embedder.encode([text])[0]
        with Session(self.engine) as s, s.begin():
            row = FactRow(
                scope=scope,
                text=text,
                conversation_id=conversation_id,
                model=self.embeddings,
                vector=vector.astype(np.float32).tobytes(),
            )
            s.add(row)
            s.flush()
            return int(row.id)

    def recall(
        self, query: str, *, scope: str = "default", k: int = 5, min_score: float = 0.3
    ) -> list[dict[str, Any]]:
        """The facts most similar to ``query`` (cosine ≥ ``min_score``), best first."""
        with Session(self.engine) as s:
            rows = s.execute(
                sa.select(FactRow.id, FactRow.text, FactRow.vector, FactRow.created_at).where(
                    FactRow.scope == scope, FactRow.model == self.embeddings
                )
            ).all()
        if not rows:
            return []
        matrix = np.stack([np.frombuffer(r.vector, dtype=np.float32) for r in rows])
        scores = matrix @ self.embedder.encode([query])[0]
        order = np.argsort(-scores)[:k]
        return [
            {
                "id": rows[i].id,
                "text": rows[i].text,
                "score": round(float(scores[i]), 4),
                "created_at": rows[i].created_at,
            }
            for i in order
            if scores[i] >= min_score
        ]

    def facts(self, *, scope: str = "default") -> list[dict[str, Any]]:
        with Session(self.engine) as s:
            rows = s.execute(
                sa.select(FactRow.id, FactRow.text, FactRow.created_at)
                .where(FactRow.scope == scope)
                .order_by(FactRow.id)
            ).all()
        return [{"id": r.id, "text": r.text, "created_at": r.created_at} for r in rows]

    def forget(self, fact_id: int) -> bool:
        with Session(self.engine) as s, s.begin():
            result = s.execute(sa.delete(FactRow).where(FactRow.id == fact_id))
            return int(getattr(result, "rowcount", 0)) > 0

    def forget_scope(self, scope: str) -> int:
        with Session(self.engine) as s, s.begin():
            result = s.execute(sa.delete(FactRow).where(FactRow.scope == scope))
            return int(getattr(result, "rowcount", 0))
