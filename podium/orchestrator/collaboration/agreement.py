"""When do two answers agree? Equality is semantic where it matters.

* :func:`same_output` — normalised form: JSON-equal outputs, or texts equal after case,
  whitespace and punctuation are folded.
* :func:`same_rows` — two SQL answers agree when their result sets are equal (as multisets of
  rows, order ignored), whatever the SQL text.
* :class:`SimilarText` — texts agree when the cosine of their embeddings is at least
  ``threshold`` (default 0.9 with MiniLM, a stated choice: paraphrases score ≥ 0.9, answers
  that differ in one fact usually < 0.85).
"""

from __future__ import annotations

import json
import re
import unicodedata
from collections.abc import Callable, Sequence
from typing import Any

from podium.experts.base import ExpertResult

Agreement = Callable[[ExpertResult, ExpertResult], bool]

_PUNCT = re.compile(r"[^\w\s]")
_SPACE = re.compile(r"\s+")


def normalise(value: Any) -> str:
    """A canonical string for an output: JSON with sorted keys, or folded text."""
    if isinstance(value, str):
        text = unicodedata.normalize("NFKC", value).casefold()
        return _SPACE.sub(" ", _PUNCT.sub(" ", text)).strip()
    try:
        return json.dumps(value, sort_keys=True, ensure_ascii=False, default=str)
    except (TypeError, ValueError):
        return repr(value)


def same_output(a: ExpertResult, b: ExpertResult) -> bool:
    """Outputs equal in normalised form."""
    return normalise(a.output) == normalise(b.output)


def rows_key(output: Any) -> tuple[str, ...] | None:
    """The multiset of result rows of an SQL answer (``{"rows": [...]}``), order-free."""
    if not isinstance(output, dict) or "rows" not in output:
        return None
    return tuple(sorted(repr(tuple(r) if isinstance(r, list) else r) for r in output["rows"]))


def same_rows(a: ExpertResult, b: ExpertResult) -> bool:
    """Two SQL answers agree when their result sets are equal (falls back to same_output)."""
    ka, kb = rows_key(a.output), rows_key(b.output)
    if ka is None or kb is None:
        return same_output(a, b)
    return ka == kb


class SimilarText:
    """Texts agree when their embeddings' cosine similarity is at least ``threshold``."""

    def __init__(self, embedder: Any, threshold: float = 0.9) -> None:
        if not 0.0 < threshold <= 1.0:
            raise ValueError(f"threshold must be in (0, 1], got {threshold}")
        self.embedder, self.threshold = embedder, threshold

    def __call__(self, a: ExpertResult, b: ExpertResult) -> bool:
        if same_output(a, b):
            return True
        va, vb = self.embedder.encode([a.text(), b.text()])
        return float(va @ vb) >= self.threshold


def group(results: Sequence[ExpertResult], agree: Agreement) -> list[list[int]]:
    """Indices of the results grouped by agreement with each group's first member."""
    groups: list[list[int]] = []
    for i, r in enumerate(results):
        for g in groups:
            if agree(results[g[0]], r):
                g.append(i)
                break
        else:
            groups.append([i])
    return groups


AGREEMENTS: dict[str, Agreement] = {"output": same_output, "rows": same_rows}


def agreement_named(name: str) -> Agreement:
    try:
        return AGREEMENTS[name]
    except KeyError:
        raise ValueError(
            f"unknown agreement {name!r}; choose one of {sorted(AGREEMENTS)}"
        ) from None
