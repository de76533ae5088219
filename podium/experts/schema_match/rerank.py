"""LLM rerank (Magneto-style): the large model names the best of a column's top candidates.

The small signals retrieve; the large model sees the source column and its top-k candidates
with sample values and names the one that holds the same information, under a JSON schema
that admits only those names. The named candidate moves to first place and the others keep
their order; the scores stay the same set (the best score goes to the model's choice), so a
rerank changes the order and the accepted match, never how sure the matcher claims to be
overall. Every change is recorded.

Two measured choices (BENCHMARKS.md, schema matching; all 99 labelled GDC columns,
leave-one-pair-out, Qwen2.5-Coder-1.5B):
- *Name, not rank.* Asked to rank numbered candidates, the 1.5B returned the identity order or
  its exact reverse ([5, 4, 3, 2, 1]); top-1 fell from 0.575 to 0.477 (1 column fixed, 12
  broken). Asked for one number it answered "2" almost always. Naming the column removes
  both habits.
- *Only where the matcher is unsure.* Even naming, the 1.5B's pick is right less often than
  the matcher's first candidate where the matcher clears its own acceptance threshold (0.78
  right there), so by default only columns under that threshold are sent (``unsure_only``).
  Together: top-1 0.566 against 0.575 without the rerank (4 columns fixed, 5 broken, 54 of 99
  columns sent), where the numbered ranking of every column read 0.477.
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
        unsure_only: only columns whose best score is under the matcher's acceptance
            threshold go to the model (a cascade); ``False`` sends every column.
    """

    model: str | None = None
    top_k: int = 5
    concurrency: int = 4
    min_score: float = 0.0
    unsure_only: bool = True


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
    lines = "\n".join(f"- {_describe(c)}" for c in candidates)
    return [
        SystemMessage(SYSTEM),
        HumanMessage(
            f"Source column: {_describe(source)}\n\nCandidate target columns:\n{lines}\n\n"
            "Which candidate holds the same information as the source column? Answer with its "
            "name."
        ),
    ]


def _schema(names: list[str]) -> type[BaseModel]:
    """Only the candidates' names are valid, so constrained decoding cannot invent one."""
    name = Literal.__getitem__(tuple(names))
    field = Field(description="the name of the candidate that means the same")
    return create_model("CandidatePick", best=(name, field))  # type: ignore[arg-type]


async def llm_rerank(
    result: MatchResult,
    provider: ModelProvider,
    policy: LLMRerank,
    *,
    rows: Iterable[int] | None = None,
) -> MatchResult:
    """Let the model pick among the top-k candidates of every source column (or of ``rows``)
    the matcher is unsure of; returns a new result whose ``rerank`` records what changed."""
    from podium.models.structured import astructured

    scores = result.scores.copy()
    order = np.argsort(-scores, axis=1, kind="stable")
    sem = asyncio.Semaphore(max(policy.concurrency, 1))
    targets = result.target.columns
    k = min(policy.top_k, len(targets))

    async def one(i: int) -> dict[str, Any] | None:
        col = result.source.columns[i]
        top = [int(j) for j in order[i, :k]]
        best = scores[i, top[0]]
        if k < 2 or best < policy.min_score:
            return None
        if policy.unsure_only and best >= result.threshold:
            return None
        names = [targets[j].name for j in top]
        async with sem:
            try:
                reply = await astructured(
                    provider,
                    _schema(names),
                    prompt(col, [targets[j] for j in top]),
                    model=policy.model,
                    role="large",
                )
            except ValueError as exc:
                return {"source": col.name, "error": str(exc)[:200]}
        chosen = top[names.index(reply.best)]  # type: ignore[attr-defined]
        new = [chosen, *(j for j in top if j != chosen)]
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
