"""Conversations: the turns of a chat, kept in the workspace store so they survive restarts.

A conversation's earlier turns go into the planner's context (``Podium.arun(...,
conversation_id=...)`` loads them), and every turn can point at the run that answered it.
"""

from __future__ import annotations

import builtins
import time
import uuid
from typing import Any

import sqlalchemy as sa
from sqlalchemy.orm import Session

from podium.errors import PodiumError

from .engine import make_engine
from .schema import migrate
from .tables import ConversationRow, MessageRow, StepRow


class ConversationNotFound(PodiumError):
    http_status = 404


class ConversationStore:
    """Create conversations, append turns, read them back."""

    ROLES = ("user", "assistant", "system")

    def __init__(self, url: str) -> None:
        self.engine = make_engine(url)
        migrate(self.engine)

    def create(self, title: str = "") -> str:
        conv_id = uuid.uuid4().hex[:12]
        with Session(self.engine) as s, s.begin():
            s.add(ConversationRow(id=conv_id, title=title[:200]))
        return conv_id

    def append(
        self, conversation_id: str, role: str, content: str, run_id: str | None = None
    ) -> None:
        if role not in self.ROLES:
            raise ValueError(f"role must be one of {self.ROLES}, got {role!r}")
        with Session(self.engine) as s, s.begin():
            conv = s.get(ConversationRow, conversation_id)
            if conv is None:
                raise ConversationNotFound(f"no conversation {conversation_id!r}")
            if not conv.title and role == "user":
                conv.title = content[:80]
            conv.updated_at = time.time()
            s.add(
                MessageRow(
                    conversation_id=conversation_id, role=role, content=content, run_id=run_id
                )
            )

    def messages(self, conversation_id: str, limit: int | None = None) -> list[dict[str, Any]]:
        with Session(self.engine) as s:
            if s.get(ConversationRow, conversation_id) is None:
                raise ConversationNotFound(f"no conversation {conversation_id!r}")
            query = (
                sa.select(MessageRow)
                .where(MessageRow.conversation_id == conversation_id)
                .order_by(MessageRow.id)
            )
            rows = s.scalars(query).all()
        rows = rows[-limit:] if limit else rows
        return [
            {"role": r.role, "content": r.content, "run_id": r.run_id, "created_at": r.created_at}
            for r in rows
        ]

    def list(self, limit: int = 50) -> list[dict[str, Any]]:
        with Session(self.engine) as s:
            rows = s.scalars(
                sa.select(ConversationRow).order_by(ConversationRow.updated_at.desc()).limit(limit)
            ).all()
        return [
            {"id": r.id, "title": r.title, "created_at": r.created_at, "updated_at": r.updated_at}
            for r in rows
        ]

    def delete(self, conversation_id: str) -> None:
        with Session(self.engine) as s, s.begin():
            conv = s.get(ConversationRow, conversation_id)
            if conv is None:
                raise ConversationNotFound(f"no conversation {conversation_id!r}")
            s.execute(sa.delete(MessageRow).where(MessageRow.conversation_id == conversation_id))
            s.delete(conv)

    def relevant(
        self, conversation_id: str, query: str, k: int = 3
    ) -> builtins.list[dict[str, Any]]:
        """Earlier turns of a conversation that share the most words with ``query`` (BM25),
        best first: context from far back that the last few turns no longer carry."""
        from .index import LexicalIndex

        turns = self.messages(conversation_id)
        if not turns:
            return []
        index = LexicalIndex(list(range(len(turns))), [m["content"] for m in turns])
        scores, ids = index.search(query, k)
        return [
            {**turns[int(i)], "index": int(i), "score": round(float(s), 4)}
            for s, i in zip(scores, ids, strict=True)
        ]

    def rename(self, conversation_id: str, title: str) -> None:
        with Session(self.engine) as s, s.begin():
            conv = s.get(ConversationRow, conversation_id)
            if conv is None:
                raise ConversationNotFound(f"no conversation {conversation_id!r}")
            conv.title = title[:200]

    def history(
        self, conversation_id: str, turns: int = 6, query: str | None = None, older: int = 2
    ) -> builtins.list[Any]:
        """The conversation as LangChain messages, for the planner's context: the last
        ``turns`` messages, and before them up to ``older`` earlier exchanges that share the
        most words with ``query``. Each answer says what its steps ran (their self-contained
        inputs, the SQL, the documents) in its text and in ``additional_kwargs``."""
        from langchain_core.messages import AIMessage, HumanMessage, SystemMessage

        every = self.messages(conversation_id)
        recent = every[-turns:] if turns else []
        picked: list[dict[str, Any]] = []
        if query and older and len(every) > len(recent):
            cut = len(every) - len(recent)
            taken: set[int] = set()
            for hit in self.relevant(conversation_id, query, k=older * 2):
                at = hit["index"] - (every[hit["index"]]["role"] != "user")
                if 0 <= at < cut and at not in taken and len(taken) < older:
                    taken.add(at)
            picked = [m for at in sorted(taken) for m in every[at : min(at + 2, cut)]]
        chosen = [*picked, *recent]
        steps = self._steps([m["run_id"] for m in chosen if m["role"] == "assistant"])
        out: list[Any] = []
        for m in chosen:
            if m["role"] == "assistant":
                ran = steps.get(m["run_id"] or "", [])
                out.append(
                    AIMessage(_with_steps(m["content"], ran), additional_kwargs={STEPS_KEY: ran})
                )
            else:
                kind = HumanMessage if m["role"] == "user" else SystemMessage
                out.append(kind(m["content"]))
        return out

    def _steps(
        self, run_ids: builtins.list[str | None]
    ) -> dict[str, builtins.list[dict[str, Any]]]:
        """What each run's successful steps ran: expert, input, SQL, document sources."""
        ids = [r for r in run_ids if r]
        if not ids:
            return {}
        found: dict[str, list[dict[str, Any]]] = {}
        with Session(self.engine) as s:
            rows = s.scalars(
                sa.select(StepRow)
                .where(StepRow.run_id.in_(ids), StepRow.status == "ok")
                .order_by(StepRow.run_id, StepRow.step_id)
            ).all()
        for r in rows:
            found.setdefault(r.run_id, []).append(_step_record(r.expert, r.input, r.output))
        return found


STEPS_KEY = "podium_steps"  # an answer's AIMessage.additional_kwargs: what its steps ran
STEPS_MARK = "\n(Answered by: "


def _step_record(expert: str, text: str, output: Any) -> dict[str, Any]:
    record: dict[str, Any] = {"expert": expert, "input": text}
    if isinstance(output, dict) and output.get("sql"):
        record["sql"] = str(output["sql"])[:400]
    if isinstance(output, list):
        names = [str(p.get("source", "")).rsplit("/", 1)[-1] for p in output if isinstance(p, dict)]
        record["sources"] = list(dict.fromkeys(n for n in names if n))[:3]
    return record


def _with_steps(answer: str, steps: list[dict[str, Any]]) -> str:
    """An answer followed by one line on how it was found (what the planner reads)."""
    if not steps:
        return answer
    parts = []
    for st in steps:
        part = f"{st['expert']} on {st['input']!r}"
        if st.get("sql"):
            part += f" with SQL {st['sql']}"
        if st.get("sources"):
            part += f" from {', '.join(st['sources'])}"
        parts.append(part)
    return f"{answer}{STEPS_MARK}{'; '.join(parts)})"
