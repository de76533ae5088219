"""The NL2SQL expert: small-model drafts over a linked sub-schema, execution decides.

1. **Link.** The question is linked to the schema (:mod:`podium.tools.sql.linking`): the
   tables and columns it is about, by embedding similarity and by values found in the data.
   Only that part of the schema goes into the prompt and the grammar, so large schemas fit.
2. **Draft.** ``k`` drafts — greedy first, then samples with different seeds and few-shot
   sets — decoded under a grammar that only admits SELECTs over the linked tables (local
   models), or parsed from text (remote models). Few-shot examples are synthesised from the
   schema itself and the nearest ones to the question are shown.
3. **Check and run.** Each draft passes the sqlglot read-only guard and runs read-only with a
   row cap and a timeout.
4. **Vote.** Drafts are grouped by result set; the largest non-empty group wins
   (execution-guided self-consistency). Confidence is the winning group's share of the votes,
   halved when the result is empty — an honest agreement score, not a calibrated probability.
5. **Repair** (strategy ``vote+repair``). When no draft ran, the best result is empty, or the
   drafts disagree, the errors and results are fed back for another round — to the large
   model when one is configured (any URI, e.g. ``openai-compatible:...``), else to the small
   model under the grammar. A large-model repair counts ``large_weight`` votes.
"""

from __future__ import annotations

import re
import threading
from collections import defaultdict
from typing import Any, Literal

import numpy as np
import sqlglot
from langchain_core.messages import AIMessage, BaseMessage, HumanMessage, SystemMessage
from pydantic import BaseModel, Field

from podium.errors import ConfigError, SQLRefused
from podium.experts.base import Evidence, Expert, ExpertContext, ExpertResult
from podium.models.local_llama import ChatLlamaCpp
from podium.models.provider import ChatModelLike, is_local
from podium.tools.sql import Database, QueryFailed, QueryResult, open_database
from podium.tools.sql.linking import LinkedSchema, SchemaLinker

from .examples import Example, schema_examples
from .grammar import sql_grammar

Strategy = Literal["single", "vote", "vote+repair"]
STRATEGIES: tuple[str, ...] = ("single", "vote", "vote+repair")

SYSTEM = "You write one {dialect} query that answers the question.\n\n{schema}"
REPAIR = (
    "Those queries did not answer the question well:\n{report}\n\n"
    "Write one corrected {dialect} query for: {question}\nReply with the SQL only."
)
_FENCE = re.compile(r"```(?:sql)?\s*(.*?)```", re.S | re.I)


class NL2SQLRequest(BaseModel):
    question: str = Field(min_length=1, description="The question, in words.")
    database: str | None = Field(default=None, description="Database name in the workspace.")


class NL2SQLExpert(Expert):
    name = "nl2sql"
    needs = "database"  # the planner is offered this expert only where the workspace has one
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

    def __init__(
        self,
        model: str | None = None,
        drafts: int = 3,
        shots: int = 4,
        *,
        strategy: Strategy = "vote+repair",
        large: ChatModelLike | None = None,
        repair_rounds: int = 1,
        large_weight: int = 2,
        max_tables: int = 4,
    ) -> None:
        if strategy not in STRATEGIES:
            raise ConfigError(
                f"unknown nl2sql strategy {strategy!r}", hint=f"use one of {STRATEGIES}"
            )
        if drafts < 1:
            raise ConfigError("nl2sql needs at least one draft", hint="drafts=3 is a good start")
        self.model = model
        self.drafts = drafts
        self.shots = shots
        self.strategy = strategy
        self.large = large
        self.repair_rounds = repair_rounds
        self.large_weight = large_weight
        self.max_tables = max_tables
        self._cache: dict[str, tuple[list[Example], list[set[str]], np.ndarray]] = {}
        self._linkers: dict[int, SchemaLinker] = {}
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
        return self.answer(db, request.question, ctx)

    def answer(self, db: Database, question: str, ctx: ExpertContext) -> ExpertResult:
        """Link, draft, run, vote and (per the strategy) repair; the whole expert, any DB."""
        linked, candidates, repairs = self.candidates(db, question, ctx)
        return self.decide(db, candidates, linked, repairs)

    def candidates(
        self, db: Database, question: str, ctx: ExpertContext
    ) -> tuple[LinkedSchema, list[dict[str, Any]], int]:
        """The linked schema, every executed candidate (drafts, then repairs) and the number
        of repair rounds. Draft 0 is greedy, so the first candidate is the ``single`` answer."""
        if ctx.models is None:
            raise ConfigError("nl2sql needs a model provider")
        linked = self.linker(ctx).link(db, question)
        ctx.emit({"kind": "schema_linked", **linked.as_dict()})
        messages = self._prompt(db, linked, question, ctx)
        k = 1 if self.strategy == "single" else self.drafts
        candidates = [self._draft(db, linked, messages, i, ctx) for i in range(k)]
        repairs = 0
        if self.strategy == "vote+repair":
            for _ in range(self.repair_rounds):
                if _repair_reason(candidates) is None:
                    break
                repairs += 1
                candidates.append(self._repair(db, linked, messages, question, candidates, ctx))
        return linked, candidates, repairs

    def linker(self, ctx: ExpertContext) -> SchemaLinker:
        assert ctx.models is not None
        encoder = ctx.models.embedder()
        with self._lock:
            if id(encoder) not in self._linkers:
                self._linkers[id(encoder)] = SchemaLinker(encoder, max_tables=self.max_tables)
            return self._linkers[id(encoder)]

    # -- drafting -------------------------------------------------------------------------

    def _prompt(
        self, db: Database, linked: LinkedSchema, question: str, ctx: ExpertContext
    ) -> list[BaseMessage]:
        dialect = db.dialect.upper() if db.dialect else "SQL"
        messages: list[BaseMessage] = [
            SystemMessage(SYSTEM.format(dialect=dialect, schema=linked.ddl(db.schema())))
        ]
        examples, tables, vectors = self._examples(db, ctx)
        usable = [
            i for i, ts in enumerate(tables) if ts and ts <= {t.lower() for t in linked.tables}
        ]
        if usable and ctx.models is not None:
            q = ctx.models.embedder().encode([question])[0]
            sims = vectors[usable] @ q
            order = [usable[j] for j in np.argsort(-sims)[: self.shots]][::-1]
            for i in order:
                messages += [HumanMessage(examples[i].question), AIMessage(examples[i].sql)]
        messages.append(HumanMessage(question))
        return messages

    def _examples(
        self, db: Database, ctx: ExpertContext
    ) -> tuple[list[Example], list[set[str]], np.ndarray]:
        with self._lock:
            if db.url not in self._cache:
                examples = schema_examples(db.schema())
                assert ctx.models is not None
                vectors = ctx.models.embedder().encode([e.question for e in examples])
                tables = [_tables_of(e.sql, db.dialect) for e in examples]
                self._cache[db.url] = (examples, tables, vectors)
            return self._cache[db.url]

    def _draft(
        self,
        db: Database,
        linked: LinkedSchema,
        messages: list[BaseMessage],
        i: int,
        ctx: ExpertContext,
    ) -> dict[str, Any]:
        assert ctx.models is not None
        base = ctx.models.base_chat(self.model, role="small")
        options: dict[str, Any] = {"temperature": 0.0 if i == 0 else 0.7, "seed": i}
        if isinstance(base, ChatLlamaCpp):
            options["grammar"] = sql_grammar(db.schema(), linked.tables, linked.columns)
            options["max_tokens"] = 160
        if i > 0 and len(messages) > 4:
            # Vary the prompt too: drop one few-shot pair per extra draft.
            drop = 1 + 2 * ((i - 1) % ((len(messages) - 2) // 2))
            messages = messages[:drop] + messages[drop + 2 :]
        model = ctx.models.tagged(base.bind(**options), self.model, "small")
        reply = model.invoke(messages)
        candidate = self._try(db, _extract_sql(str(reply.content)))
        candidate.update(origin=f"draft-{i}", weight=1)
        _emit_candidate(ctx, candidate)
        return candidate

    def _repair(
        self,
        db: Database,
        linked: LinkedSchema,
        messages: list[BaseMessage],
        question: str,
        candidates: list[dict[str, Any]],
        ctx: ExpertContext,
    ) -> dict[str, Any]:
        assert ctx.models is not None
        large = self._large_model(ctx)
        dialect = db.dialect.upper() if db.dialect else "SQL"
        report = "\n".join(_describe(c) for c in _distinct(candidates))
        feedback = REPAIR.format(report=report, dialect=dialect, question=question)
        if large is not None:
            model = ctx.models.tagged(ctx.models.base_chat(large, role="large"), large, "large")
            reply = model.invoke([messages[0], HumanMessage(feedback)])
            origin, weight = "repair-large", self.large_weight
        else:
            base = ctx.models.base_chat(self.model, role="small")
            options: dict[str, Any] = {"temperature": 0.3, "seed": 100 + len(candidates)}
            if isinstance(base, ChatLlamaCpp):
                options["grammar"] = sql_grammar(db.schema(), linked.tables, linked.columns)
                options["max_tokens"] = 160
            model = ctx.models.tagged(base.bind(**options), self.model, "small")
            reply = model.invoke([*messages[:-1], HumanMessage(feedback)])
            origin, weight = "repair-small", 1
        candidate = self._try(db, _extract_sql(str(reply.content)))
        candidate.update(origin=origin, weight=weight)
        _emit_candidate(ctx, candidate)
        return candidate

    def _large_model(self, ctx: ExpertContext) -> ChatModelLike | None:
        """The configured large model, unless it is the embedded one (then repair stays small
        and grammar-constrained: unconstrained, a 135M model rarely writes SQL)."""
        assert ctx.models is not None
        target = self.large or ctx.models.roles.get("large")
        if target is None:
            return None
        return None if is_local(target) else target

    def _try(self, db: Database, sql: str) -> dict[str, Any]:
        try:
            result = db.execute(sql)
        except SQLRefused as exc:
            return {"sql": sql, "status": "refused", "error": exc.message}
        except QueryFailed as exc:
            return {"sql": sql, "status": "error", "error": str(exc)}
        return {"sql": sql, "status": "ok", "result": result, "row_count": result.row_count}

    # -- deciding -------------------------------------------------------------------------

    def decide(
        self,
        db: Database,
        candidates: list[dict[str, Any]],
        linked: LinkedSchema,
        repairs: int = 0,
    ) -> ExpertResult:
        """Group executed candidates by result set and pick the winner (see module doc)."""
        groups: dict[Any, list[dict[str, Any]]] = defaultdict(list)
        for c in candidates:
            if c["status"] == "ok":
                groups[_result_key(c["result"])].append(c)
        alternatives = [_public(c) for c in candidates]
        details: dict[str, Any] = {
            "strategy": self.strategy,
            "candidates": alternatives,
            "linked_schema": linked.as_dict(),
            "repairs": repairs,
        }
        if not groups:
            reasons = "; ".join(f"{c['sql'][:80]!r}: {c['error']}" for c in candidates)
            return ExpertResult(error=f"no draft query ran: {reasons}", details=details)
        total = sum(c["weight"] for c in candidates)
        ranked = sorted(
            groups.values(),
            key=lambda g: (not _is_empty(g[0]["result"]), sum(c["weight"] for c in g)),
            reverse=True,
        )
        winner = ranked[0]
        result: QueryResult = winner[0]["result"]
        agreement = sum(c["weight"] for c in winner) / total
        confidence = agreement * (0.5 if _is_empty(result) else 1.0)
        vote = [
            {"sql": g[0]["sql"], "votes": sum(c["weight"] for c in g), "rows": g[0]["row_count"]}
            for g in ranked
        ]
        details.update(votes=[v["votes"] for v in vote], vote=vote, agreement=round(agreement, 3))
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
            details=details,
        )


def _repair_reason(candidates: list[dict[str, Any]]) -> str | None:
    ok = [c for c in candidates if c["status"] == "ok"]
    if not ok:
        return "no draft ran"
    if all(_is_empty(c["result"]) for c in ok):
        return "every result is empty"
    keys = [_result_key(c["result"]) for c in ok]
    top = max(keys.count(k) for k in set(keys))
    if len(candidates) > 1 and top * 2 <= len(candidates):
        return "the drafts disagree"
    return None


def _describe(c: dict[str, Any]) -> str:
    if c["status"] != "ok":
        return f"- {c['sql']}\n  failed: {c['error']}"
    result: QueryResult = c["result"]
    if _is_empty(result):
        return f"- {c['sql']}\n  returned no rows (or only NULL)"
    return f"- {c['sql']}\n  returned {result.row_count} rows, e.g. {summarize(result, 3)}"


def _distinct(candidates: list[dict[str, Any]]) -> list[dict[str, Any]]:
    seen: dict[str, dict[str, Any]] = {}
    for c in candidates:
        seen.setdefault(c["sql"], c)
    return list(seen.values())[:5]


def _public(c: dict[str, Any]) -> dict[str, Any]:
    return {k: v for k, v in c.items() if k != "result"}


def _emit_candidate(ctx: ExpertContext, candidate: dict[str, Any]) -> None:
    ctx.emit({"kind": "sql_candidate", **_public(candidate)})


def _tables_of(sql: str, dialect: str | None) -> set[str]:
    try:
        tree = sqlglot.parse_one(sql, read=dialect)
    except sqlglot.errors.SqlglotError:
        return set()
    return {t.name.lower() for t in tree.find_all(sqlglot.exp.Table)}


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
