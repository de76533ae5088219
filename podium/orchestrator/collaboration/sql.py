"""NL2SQL as the first user of draft→finalise: an NL2SQL expert that repairs a draft.

It is the built-in NL2SQL expert with one large-model query (``few_shot``) whose prompt, when
``ctx.options`` carries a ``draft`` and its ``feedback`` (the execution error, or "no rows"),
shows both and asks for a corrected query; SLM hints in ``ctx.options['hints']`` are shown too
unless ``use_hints`` is false.
"""

from __future__ import annotations

from typing import Any

from podium.experts.base import ExpertResult
from podium.experts.nl2sql import NL2SQLExpert


class RepairingNL2SQL(NL2SQLExpert):
    """NL2SQL that reads a draft and its validation feedback from ``ctx.options`` (the base
    expert's single-query strategies show them; this name is kept for draft->finalise)."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        kwargs.setdefault("strategy", "few_shot")
        super().__init__(*args, **kwargs)


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
