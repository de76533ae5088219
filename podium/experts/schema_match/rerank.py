"""LLM rerank (Magneto-style): the large model reorders each source column's top candidates.

The small signals retrieve; the large model sees the source column and its top-k candidates
with sample values and returns them best first, under a JSON schema that only admits the
candidate numbers. Within a column the scores stay the same set (the best score goes to the
model's first choice), so a rerank changes the order and the accepted match, never how sure
the matcher claims to be overall. Every change is recorded.
"""

from __future__ import annotations

import asyncio
from collections.abc import Iterable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Literal

import numpy as np
from langchain_core.messages import HumanMessage, SystemMessage
from pydantic import BaseModel, Field, create_model

from .match import MatchResult, assemble
from .tables import ColumnProfile

if TYPE_CHECKING:
    from podium.models.provider import ModelProvider


@dataclass(frozen=True)
class LLMRerank:
    """Switch the rerank on by passing one of these.

    Attributes:
        model: model URI (or role name) of the reranker; ``None`` uses the ``large`` role.
        top_k: how many of each column's candidates the model sees.
        concurrency: columns reranked at once (remote models answer in parallel).
        min_score: columns whose best score is below this are left alone (nothing to rank).
    """

    model: str | None = None
    top_k: int = 5
    concurrency: int = 4
    min_score: float = 0.0


SYSTEM = (
    "You are a data integration expert. You decide which column of a target table holds the "
    "same information as a column of a source table. Judge by meaning: names, abbreviations, "
    "units and the sample values."
)


def _describe(col: ColumnProfile) -> str:
    values = ", ".join(v[:30] for v in col.samples(6)) or "no values"
    desc = f" — {col.description}" if col.description else ""
    return f"{col.name} ({col.dtype}){desc}; values: {values}"


def prompt(source: ColumnProfile, candidates: list[ColumnProfile]) -> list[Any]:
    lines = "\n".join(f"{i}. {_describe(c)}" for i, c in enumerate(candidates, 1))
    return [
        SystemMessage(SYSTEM),
        HumanMessage(
            f"Source column: {_describe(source)}\n\nCandidate target columns:\n{lines}\n\n"
            "Rank the candidate numbers from the best match to the worst."
        ),
    ]


def _schema(k: int) -> type[BaseModel]:
    """Only the candidate numbers are valid items, so constrained decoding cannot invent."""
    number = Literal.__getitem__(tuple(range(1, k + 1)))
    return create_model(
        "CandidateRanking",
        ranking=(
            list[number],  # type: ignore[valid-type]
            Field(min_length=1, max_length=k, description="candidate numbers, best match first"),
        ),
    )


def _order(ranking: list[int], k: int) -> list[int]:
    """Valid, unique positions (0-based) from the model's ranking; the rest keep their order."""
    seen: list[int] = []
    for r in ranking:
        if 1 <= r <= k and r - 1 not in seen:
            seen.append(r - 1)
    return seen + [i for i in range(k) if i not in seen]


async def llm_rerank(
    result: MatchResult,
    provider: ModelProvider,
    policy: LLMRerank,
    *,
    rows: Iterable[int] | None = None,
) -> MatchResult:
    """Rerank the top-k candidates of every source column (or of ``rows``); returns a new
    result whose ``rerank`` records what changed."""
    from podium.models.structured import astructured

    scores = result.scores.copy()
    order = np.argsort(-scores, axis=1, kind="stable")
    sem = asyncio.Semaphore(max(policy.concurrency, 1))
    targets = result.target.columns
    k = min(policy.top_k, len(targets))
    schema = _schema(k)

    async def one(i: int) -> dict[str, Any] | None:
        col = result.source.columns[i]
        top = [int(j) for j in order[i, :k]]
        if k < 2 or scores[i, top[0]] < policy.min_score:
            return None
        async with sem:
            try:
                reply = await astructured(
                    provider,
                    schema,
                    prompt(col, [targets[j] for j in top]),
                    model=policy.model,
                    role="large",
                )
            except ValueError as exc:
                return {"source": col.name, "error": str(exc)[:200]}
        new = [top[p] for p in _order(list(reply.ranking), k)]  # type: ignore[attr-defined]
        sorted_scores = scores[i, top].copy()  # already descending
        scores[i, new] = sorted_scores
        order[i, :k] = new
        return {
            "source": col.name,
            "before": [targets[j].name for j in top],
            "after": [targets[j].name for j in new],
            "top1_changed": new[0] != top[0],
        }

    todo = range(len(result.source)) if rows is None else rows
    records = await asyncio.gather(*(one(int(i)) for i in todo))
    out = assemble(
        result.source,
        result.target,
        scores,
        result.signals,
        threshold=result.threshold,
        top_k=len(result.columns[0].candidates) if result.columns else k,
        one_to_one=result.one_to_one,
        order=order,
    )
    out.rerank = [r for r in records if r is not None]
    return out


def summarize_rerank(records: list[dict[str, Any]]) -> dict[str, int]:
    return {
        "columns_reranked": sum(1 for r in records if "after" in r),
        "top1_changed": sum(1 for r in records if r.get("top1_changed")),
        "errors": sum(1 for r in records if "error" in r),
    }
