"""Few-shot examples chosen per question, DAIL-SQL style, from a pool.

DAIL-SQL (Gao et al., 2023) picks the examples whose *masked* question is most similar to the
target's (literals and names hidden, so "How many singers are from France?" finds "How many
cars are from Japan?") and whose SQL *skeleton* (keywords kept, identifiers and values blanked)
is closest to a preliminary query's; it shows them as question/SQL pairs without their schemas.

The pool holds the generic examples shipped with Podium (``generic_examples.json``: joins,
grouping, HAVING, nesting, set operations over a neutral schema) plus whatever the caller adds —
for evaluation the Spider questions of the *other* databases only: :meth:`ExamplePool.select`
never returns an example whose ``source`` is the database being asked about
(leave-one-database-out).

Verified examples learned from this workspace's own runs (:mod:`podium.learning`) join the pool
with the source ``verified:<database>`` (:func:`learned_source`); the expert shows those of the
database asked about in a block of their own (``only_source``) and leaves them out of the other
examples (``exclude_sources``).
"""

from __future__ import annotations

import difflib
import json
import re
import threading
from dataclasses import dataclass
from importlib.resources import files
from typing import Any, Protocol

import numpy as np
from sqlglot.errors import SqlglotError
from sqlglot.tokens import Tokenizer, TokenType

_LITERAL_TOKENS = {
    TokenType.VAR,
    TokenType.STRING,
    TokenType.NUMBER,
    TokenType.IDENTIFIER,
}
_QUOTED = re.compile(r"[\"“'‘][^\"”'’]{1,60}[\"”'’]")
_NUMBER = re.compile(r"\b\d+(?:[.,]\d+)*\b")
_PROPER = re.compile(r"(?<=\w )[A-Z][\w-]*")


class Encoder(Protocol):
    def encode(self, texts: list[str]) -> np.ndarray: ...


@dataclass(frozen=True)
class PoolExample:
    question: str
    sql: str
    source: str = "generic"  # the database it was asked about


def learned_source(database: str | None) -> str:
    """The pool source of the verified examples learned for ``database`` (None: the
    workspace's default database)."""
    return f"verified:{database or 'default'}"


def mask_question(question: str) -> str:
    """Hide values: quoted strings, numbers and capitalised words inside the sentence."""
    text = _QUOTED.sub("<value>", question)
    text = _NUMBER.sub("<number>", text)
    return _PROPER.sub("<name>", text)


def skeleton(sql: str) -> list[str]:
    """SQL keywords and operators, identifiers and literals blanked: ``SELECT _ FROM _ ...``."""
    try:
        tokens = Tokenizer().tokenize(sql)
    except (SqlglotError, ValueError):
        return sql.upper().split()
    return ["_" if t.token_type in _LITERAL_TOKENS else t.text.upper() for t in tokens]


def skeleton_similarity(a: str, b: str) -> float:
    return difflib.SequenceMatcher(None, skeleton(a), skeleton(b), autojunk=False).ratio()


class ExamplePool:
    """Examples with their masked-question embeddings, computed once per encoder."""

    def __init__(self, examples: list[PoolExample]) -> None:
        self.examples = list(examples)
        self._vectors: dict[int, np.ndarray] = {}
        self._lock = threading.Lock()

    @classmethod
    def generic(cls) -> ExamplePool:
        """The examples shipped with Podium."""
        return cls(shipped_examples())

    @classmethod
    def with_spider(cls, items: list[dict[str, Any]]) -> ExamplePool:
        """The shipped examples plus Spider-format items (``db_id``, ``question``, ``query``)."""
        spider = [PoolExample(i["question"], i["query"], i["db_id"]) for i in items]
        return cls(shipped_examples() + spider)

    def vectors(self, encoder: Encoder) -> np.ndarray:
        with self._lock:
            if id(encoder) not in self._vectors:
                texts = [mask_question(e.question) for e in self.examples]
                self._vectors[id(encoder)] = np.asarray(encoder.encode(texts))
            return self._vectors[id(encoder)]

    def select(
        self,
        question: str,
        encoder: Encoder,
        *,
        k: int = 4,
        exclude_source: str | None = None,
        draft_sql: str | None = None,
        shortlist: int = 20,
        only_source: str | None = None,
        exclude_sources: tuple[str, ...] = (),
    ) -> list[PoolExample]:
        """The ``k`` best examples, most similar last (closest to the question in the prompt).

        Ranked by masked-question cosine; with a draft query, the shortlist is re-ranked by
        the mean of that cosine and the skeleton similarity (DAIL-SQL's two signals).
        ``only_source`` keeps the examples of that source only; ``exclude_source`` and
        ``exclude_sources`` leave theirs out."""
        if k <= 0 or not self.examples:
            return []
        excluded = {exclude_source, *exclude_sources} - {None}
        allowed = [
            i
            for i, e in enumerate(self.examples)
            if e.source not in excluded and (only_source is None or e.source == only_source)
        ]
        if not allowed:
            return []
        q = np.asarray(encoder.encode([mask_question(question)]))[0]
        sims = self.vectors(encoder)[allowed] @ q
        order = np.argsort(-sims)[: max(k, shortlist if draft_sql else k)]
        scored = [(float(sims[j]), allowed[j]) for j in order]
        if draft_sql:
            scored = [
                (0.5 * s + 0.5 * skeleton_similarity(draft_sql, self.examples[i].sql), i)
                for s, i in scored
            ]
            scored.sort(key=lambda p: -p[0])
        # Avoid near-duplicate SQL: one example per skeleton.
        chosen: list[int] = []
        seen: set[str] = set()
        for _, i in scored:
            shape = " ".join(skeleton(self.examples[i].sql))
            if shape in seen:
                continue
            seen.add(shape)
            chosen.append(i)
            if len(chosen) == k:
                break
        return [self.examples[i] for i in reversed(chosen)]


def shipped_examples() -> list[PoolExample]:
    raw = json.loads(files(__package__).joinpath("generic_examples.json").read_text("utf-8"))
    return [PoolExample(e["question"], e["sql"]) for e in raw]
