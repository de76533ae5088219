"""The NL2SQL expert: small-model drafts under a schema grammar, execution decides.

1. The question's nearest synthetic examples (built from the schema itself) go into the prompt.
2. ``k`` drafts are decoded — greedy first, then samples — under a grammar that only admits
   SELECTs over real tables and columns (local models) or parsed from text (remote models).
3. Each draft passes the read-only guard and runs with a row cap and a timeout.
4. Drafts are grouped by result set and the largest group wins (execution-guided
   self-consistency). Confidence is the winning group's share of the drafts, halved when
   the result is empty or all NULL — an honest agreement score, not a calibrated probability.
"""

from __future__ import annotations

import re
import threading
from collections import defaultdict
from typing import Any

import numpy as np
from langchain_core.messages import AIMessage, BaseMessage, HumanMessage, SystemMessage
from pydantic import BaseModel, Field

from podium.errors import ConfigError, SQLRefused
from podium.experts.base import Cost, Evidence, Expert, ExpertContext, ExpertResult
from podium.models.local_llama import ChatLlamaCpp
from podium.tools.sql import Database, QueryFailed, QueryResult, open_database

from .examples import Example, schema_examples
from .grammar import sql_grammar

SYSTEM = "You write one {dialect} query that answers the question.\n\n{schema}"
_FENCE = re.compile(r"```(?:sql)?\s*(.*?)```", re.S | re.I)


class NL2SQLRequest(BaseModel):
    question: str = Field(min_length=1, description="The question, in words.")
    database: str | None = Field(default=None, description="Database name in the workspace.")


class NL2SQLExpert(Expert):
    name = "nl2sql"
    description = (
        "Answers questions about records in the workspace's SQL databases — counts, totals, "
        "averages, rankings, lists of customers, orders, products and other rows — by writing "
        "and running a read-only SQL query."
    )
    input_model = NL2SQLRequest
    examples = (
        "How many orders were placed last year?",
        "Which customers spent the most in total?",
        "What is the average price of the products in each category?",
    )

    def __init__(self, model: str | None = None, drafts: int = 3, shots: int = 4) -> None:
        self.model = model
        self.drafts = drafts
        self.shots = shots
        self._cache: dict[str, tuple[list[Example], np.ndarray, str]] = {}
        self._lock = threading.Lock()

    def routing_hints(self, workspace: Any) -> list[str]:
        hints = []
        for db in workspace.config.databases:
            if db.description:
                hints.append(db.description)
            try:
                schema = open_database(workspace.resolve_url(db.url)).schema()
            except Exception:
                continue
            for t in schema.tables:
                cols = ", ".join(c.name.replace("_", " ") for c in t.columns[:12])
                hints.append(f"how many {t.name.replace('_', ' ')}: {cols}")
        return hints

    def run(self, request: BaseModel, ctx: ExpertContext) -> ExpertResult:
        assert isinstance(request, NL2SQLRequest)
        if ctx.workspace is None:
            raise ConfigError("nl2sql needs a workspace with a database")
        db = open_database(ctx.workspace.database_url(request.database))
        if ctx.models is None:
            raise ConfigError("nl2sql needs a model provider")
        messages = self._prompt(db, request.question, ctx)
        base = ctx.models.base_chat(self.model, role="small")
        candidates: list[dict[str, Any]] = []
        for i in range(self.drafts):
            options: dict[str, Any] = {"temperature": 0.0 if i == 0 else 0.4, "seed": i}
            if isinstance(base, ChatLlamaCpp):
                options["grammar"] = self._grammar(db)
                options["max_tokens"] = 160
            model = ctx.models.tagged(base.bind(**options), self.model, "small")
            reply = model.invoke(messages)
            candidates.append(self._try(db, _extract_sql(str(reply.content))))
            ctx.emit(
                {
                    "kind": "sql_candidate",
                    **{k: v for k, v in candidates[-1].items() if k != "result"},
                }
            )
        return self._decide(db, candidates)

    # -- pieces ---------------------------------------------------------------------------

    def _prompt(self, db: Database, question: str, ctx: ExpertContext) -> list[BaseMessage]:
        examples, vectors, schema_text = self._examples(db, ctx)
        messages: list[BaseMessage] = [
            SystemMessage(
                SYSTEM.format(
                    dialect=db.dialect.upper() if db.dialect else "SQL", schema=schema_text
                )
            )
        ]
        if examples and ctx.models is not None:
            q = ctx.models.embedder().encode([question])[0]
            order = np.argsort(-(vectors @ q))[: self.shots][::-1]
            for i in order:
                messages += [HumanMessage(examples[i].question), AIMessage(examples[i].sql)]
        messages.append(HumanMessage(question))
        return messages

    def _examples(self, db: Database, ctx: ExpertContext) -> tuple[list[Example], np.ndarray, str]:
        with self._lock:
            if db.url not in self._cache:
                schema = db.schema()
                examples = schema_examples(schema)
                assert ctx.models is not None
                vectors = ctx.models.embedder().encode([e.question for e in examples])
                self._cache[db.url] = (examples, vectors, schema.ddl())
            return self._cache[db.url]

    def _grammar(self, db: Database) -> str:
        return sql_grammar(db.schema())

    def _try(self, db: Database, sql: str) -> dict[str, Any]:
        try:
            result = db.execute(sql)
        except SQLRefused as exc:
            return {"sql": sql, "status": "refused", "error": exc.message}
        except QueryFailed as exc:
            return {"sql": sql, "status": "error", "error": str(exc)}
        return {"sql": sql, "status": "ok", "result": result, "row_count": result.row_count}

    def _decide(self, db: Database, candidates: list[dict[str, Any]]) -> ExpertResult:
        groups: dict[Any, list[dict[str, Any]]] = defaultdict(list)
        for c in candidates:
            if c["status"] == "ok":
                groups[_result_key(c["result"])].append(c)
        alternatives = [{k: v for k, v in c.items() if k != "result"} for c in candidates]
        if not groups:
            reasons = "; ".join(f"{c['sql'][:80]!r}: {c['error']}" for c in candidates)
            return ExpertResult(
                error=f"no draft query ran: {reasons}",
                details={"candidates": alternatives},
                cost=Cost(),
            )
        ranked = sorted(
            groups.values(), key=lambda g: (len(g), not _is_empty(g[0]["result"])), reverse=True
        )
        winner = ranked[0]
        result: QueryResult = winner[0]["result"]
        confidence = len(winner) / len(candidates)
        if _is_empty(result):
            confidence *= 0.5
        return ExpertResult(
            output=result.as_dict(),
            summary=summarize(result),
            confidence=round(confidence, 3),
            evidence=[
                Evidence(kind="sql", text=result.sql, source=db.safe_url),
                Evidence(
                    kind="rows",
                    text=summarize(result, max_rows=20),
                    source=db.safe_url,
                    metadata={"row_count": result.row_count},
                ),
            ],
            details={
                "candidates": alternatives,
                "votes": [len(g) for g in ranked],
                "agreement": len(winner) / len(candidates),
            },
        )


def _extract_sql(text: str) -> str:
    fenced = _FENCE.search(text)
    sql = fenced.group(1) if fenced else text
    return sql.strip().rstrip(";").strip()


def _result_key(result: QueryResult) -> tuple[Any, ...]:
    return tuple(sorted(map(repr, result.rows)))


def _is_empty(result: QueryResult) -> bool:
    return not result.rows or all(v is None for row in result.rows for v in row)


def summarize(result: QueryResult, max_rows: int = 10) -> str:
    """A short statement of a result: ``COUNT(*): 543`` or ``Germany, 43; France, 41``."""
    if not result.rows:
        return "no rows"
    if len(result.rows) == 1 and len(result.columns) == 1:
        return f"{result.columns[0]}: {_fmt(result.rows[0][0])}"
    lines = ["; ".join(", ".join(_fmt(v) for v in row) for row in result.rows[:max_rows])]
    if result.row_count > max_rows or result.truncated:
        more = f"{result.row_count}+" if result.truncated else str(result.row_count)
        lines.append(f"({more} rows)")
    header = ", ".join(result.columns)
    return f"[{header}] " + " ".join(lines)


def _fmt(value: Any) -> str:
    if isinstance(value, float):
        return f"{value:.2f}".rstrip("0").rstrip(".") if not value.is_integer() else str(int(value))
    return str(value)
