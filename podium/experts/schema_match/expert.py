"""The schema-matching expert: which columns of two tables mean the same thing.

Confidence is the mean combined score of the accepted matches. The combined score is a
logistic regression fit on the GDC pairs, so it is a probability estimate for tables like
those; elsewhere it orders candidates well but is not calibrated. With no accepted match the
confidence is one minus the best score seen (how sure we are that nothing matches).
"""

from __future__ import annotations

import asyncio
import re
from typing import Any

from pydantic import BaseModel, Field

from podium.errors import ConfigError, InputRejected
from podium.experts.base import Evidence, Expert, ExpertContext, ExpertResult

from .match import MatchResult, match_tables
from .rerank import LLMRerank, llm_rerank, summarize_rerank


class SchemaMatchRequest(BaseModel):
    text: str = Field(
        min_length=1,
        description="What to match, naming the two tables (CSV paths, '<url>#<table>', or "
        "tables of the workspace's databases).",
    )
    source: str | None = Field(default=None, description="The table whose columns to map.")
    target: str | None = Field(default=None, description="The table to map them onto.")
    top_k: int = Field(default=3, ge=1, le=20, description="Candidates kept per column.")
    one_to_one: bool = Field(default=False, description="Each target column used at most once.")
    rerank: bool = Field(default=False, description="Let the large model rerank candidates.")


_CSV = re.compile(r"""(?:"([^"]+\.csv)"|'([^']+\.csv)'|([^\s"',;]+\.csv))""", re.I)
_URL = re.compile(r"[a-z][a-z0-9+]*://[^\s#]*#[A-Za-z_][\w.]*")


class SchemaMatchExpert(Expert):
    name = "schema_match"
    description = (
        "Matches the columns of two tables (CSV files or database tables): finds which column "
        "of one table means the same as which column of the other, with confidences and "
        "evidence. Use it to map an uploaded CSV onto a known table, to align two schemas, or "
        "to find the join columns between data from two databases."
    )
    input_model = SchemaMatchRequest
    examples = (
        "Which columns of uploads/patients.csv correspond to the columns of the visits table?",
        "Map the columns of new_orders.csv onto the orders table.",
        "Match the schema of sqlite:///a.db#customers to sqlite:///b.db#clients.",
    )

    def __init__(
        self, embeddings: str | None = None, rerank: LLMRerank | None = None, top_k: int = 3
    ) -> None:
        self.embeddings = embeddings
        self.rerank_policy = rerank
        self.top_k = top_k

    def run(self, request: BaseModel, ctx: ExpertContext) -> ExpertResult:
        return asyncio.run(self.arun(request, ctx))

    async def arun(self, request: BaseModel, ctx: ExpertContext) -> ExpertResult:
        assert isinstance(request, SchemaMatchRequest)
        source, target = resolve_tables(request, ctx)
        uri = self.embeddings or (ctx.models.roles.get("embeddings") if ctx.models else None)
        result: MatchResult = await asyncio.to_thread(
            match_tables,
            source,
            target,
            embeddings=uri if isinstance(uri, str) else "local:minilm",
            top_k=request.top_k,
            one_to_one=request.one_to_one,
        )
        policy = self.rerank_policy or (LLMRerank() if request.rerank else None)
        if policy is not None:
            if ctx.models is None:
                raise ConfigError("the LLM rerank needs models", hint="run it through Podium")
            result = await llm_rerank(result, ctx.models, policy)
        return to_expert_result(result)


def to_expert_result(result: MatchResult) -> ExpertResult:
    matches = result.matches
    if matches:
        confidence = sum(c for _, _, c in matches) / len(matches)
    else:
        best = float(result.scores.max()) if result.scores.size else 0.0
        confidence = 1.0 - best
    shown = ", ".join(f"{s} → {t} ({c:.2f})" for s, t, c in matches[:15])
    more = f", and {len(matches) - 15} more" if len(matches) > 15 else ""
    summary = (
        f"Matched {len(matches)} of {len(result.source)} columns of {result.source.name} to "
        f"{result.target.name}: {shown}{more}."
        if matches
        else f"No column of {result.source.name} matches a column of {result.target.name}."
    )
    evidence = [
        Evidence(
            kind="other",
            text=f"{col.source} → {col.match}",
            source=result.target.name,
            score=round(col.confidence, 4),
            metadata={
                "signals": col.candidates[0].to_dict()["signals"] if col.candidates else {},
                "agreed": col.candidates[0].agreed if col.candidates else [],
            },
        )
        for col in result.columns
        if col.match is not None
    ]
    details: dict[str, Any] = {"threshold": result.threshold}
    if result.rerank:
        details["rerank"] = {**summarize_rerank(result.rerank), "changes": result.rerank}
    return ExpertResult(
        output=result.to_dict(),
        summary=summary,
        confidence=max(0.0, min(1.0, confidence)),
        evidence=evidence,
        details=details,
    )


def resolve_tables(request: SchemaMatchRequest, ctx: ExpertContext) -> tuple[str, str]:
    """The two tables: from the request's fields, else in order of mention in its text."""
    if request.source and request.target:
        return _table_ref(request.source, ctx), _table_ref(request.target, ctx)
    found = _mentions(request.text, ctx)
    refs = [r for r in (request.source, request.target) if r]
    refs = [_table_ref(r, ctx) for r in refs] + [f for f in found if f not in refs]
    if len(refs) < 2:
        raise InputRejected(
            "schema matching needs two tables, and the request names "
            f"{len(refs) or 'no'} table{'s' if len(refs) != 1 else ''}",
            hint="name two CSV files, '<sqlalchemy-url>#<table>' or tables of the workspace's "
            "databases",
        )
    return refs[0], refs[1]


def _mentions(text: str, ctx: ExpertContext) -> list[str]:
    hits: list[tuple[int, str]] = []
    for m in _CSV.finditer(text):
        hits.append((m.start(), next(g for g in m.groups() if g)))
    for m in _URL.finditer(text):
        hits.append((m.start(), m.group(0)))
    for name, url, table in _workspace_tables(ctx):
        for m in re.finditer(rf"(?<![\w./]){re.escape(table)}(?![\w.])", text):
            hits.append((m.start(), f"{url}#{table}"))
        for m in re.finditer(rf"(?<![\w./]){re.escape(name)}\.{re.escape(table)}\b", text):
            hits.append((m.start(), f"{url}#{table}"))
    out: list[str] = []
    for _, ref in sorted(hits):
        if ref not in out:
            out.append(ref)
    return out


def _table_ref(ref: str, ctx: ExpertContext) -> str:
    """A workspace table name ('orders' or 'shop.orders') becomes '<url>#orders'."""
    if "://" in ref or ref.lower().endswith(".csv"):
        return ref
    for name, url, table in _workspace_tables(ctx):
        if ref in (table, f"{name}.{table}"):
            return f"{url}#{table}"
    return ref


def _workspace_tables(ctx: ExpertContext) -> list[tuple[str, str, str]]:
    ws = ctx.workspace
    if ws is None:
        return []
    import sqlalchemy as sa

    out: list[tuple[str, str, str]] = []
    for db in ws.config.databases:
        url = ws.resolve_url(db.url)
        try:
            engine = sa.create_engine(url)
            try:
                names = sa.inspect(engine).get_table_names()
            finally:
                engine.dispose()
        except sa.exc.SQLAlchemyError:
            continue
        out.extend((db.name, url, t) for t in names)
    return out
