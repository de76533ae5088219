"""NL2SQL as the first user of draft→finalise: an NL2SQL expert that repairs a draft.

It is the built-in NL2SQL expert (schema grammar, execution, result-set voting) whose prompt,
when ``ctx.options`` carries a ``draft`` and its ``feedback`` (the execution error, or "no
rows"), shows both and asks for a corrected query; SLM hints in ``ctx.options['hints']``
(see :mod:`.hints`) are shown too unless ``use_hints`` is false.
"""

from __future__ import annotations

from typing import Any

from langchain_core.messages import BaseMessage, HumanMessage

from podium.experts.base import ExpertContext, ExpertResult
from podium.experts.nl2sql import NL2SQLExpert

from .hints import SLMHint, with_hints


class RepairingNL2SQL(NL2SQLExpert):
    """NL2SQL that reads a draft and its validation feedback from ``ctx.options``."""

    def _prompt(self, db: Any, question: str, ctx: ExpertContext) -> list[BaseMessage]:
        messages = super()._prompt(db, question, ctx)
        draft, feedback = ctx.options.get("draft"), ctx.options.get("feedback")
        text = question
        if draft:
            text += (
                f"\n-- A draft query was: {draft}\n-- Its problem: {feedback}\n"
                "-- Write a corrected query."
            )
        hints = [SLMHint.model_validate(h) for h in ctx.options.get("hints", [])]
        text = with_hints(text, hints, enabled=bool(ctx.options.get("use_hints", True)))
        messages[-1] = HumanMessage(text)
        return messages


def sql_feedback(result: ExpertResult) -> str | None:
    """Validation for SQL drafts: a failed run, or an empty / all-NULL result, needs repair."""
    if not result.ok:
        return result.error
    rows = (result.output or {}).get("rows") if isinstance(result.output, dict) else None
    if not rows:
        return "the query returned no rows"
    if all(v is None for row in rows for v in row):
        return "the query returned only NULL values"
    return None
