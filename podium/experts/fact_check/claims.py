"""Claim splitting: an answer or a statement → short, checkable, atomic claims.

By rules (the default, microseconds): sentences, then clauses joined by ``;`` or by a
conjunction that starts a new subject-verb clause ("..., and X is ..."), with questions,
greetings, hedges about the answer itself and fragments dropped. With a large model
configured, :func:`split_with_model` asks it for one claim per line instead.
"""

from __future__ import annotations

import re
from typing import Any

_SENTENCE = re.compile(r"(?<=[.!?])[\"')\]]*\s+(?=[\"'(\[]?[A-Z0-9])")
_ABBREV = re.compile(r"\b(?:e\.g|i\.e|etc|vs|approx|Mr|Mrs|Dr|No|St|U\.S|U\.K)\.$", re.I)
_CLAUSE = re.compile(r";\s+|,\s+(?:and|but|while|whereas)\s+")
_BULLET = re.compile(r"^\s*(?:[-*•]|\d+[.)])\s+")
_META = re.compile(
    r"^(?:sure|okay|ok|hello|hi|thanks|thank you|here is|here are|in summary|to summarise|"
    r"to summarize|i hope|let me know|based on|according to the (?:results|evidence)\W*$|"
    r"i (?:am|'m) not sure|i don't know|i cannot|i can't|note:)",
    re.I,
)
MIN_WORDS = 3
MIN_CLAUSE_WORDS = 4


def split_claims(text: str, *, max_claims: int = 32) -> list[str]:
    """Atomic claims in ``text``, in order, without duplicates."""
    claims: list[str] = []
    for line in text.splitlines():
        line = _BULLET.sub("", line).strip()
        if not line:
            continue
        for sentence in _sentences(line):
            for clause in _clauses(sentence):
                claim = _clean(clause)
                if claim and claim not in claims:
                    claims.append(claim)
    return claims[:max_claims]


def _clauses(sentence: str) -> list[str]:
    """Split at ``;`` and at ``, and`` / ``, but`` ... when both sides are clauses of their own
    (at least :data:`MIN_CLAUSE_WORDS` words and no list before), so "red, green, and blue"
    stays whole."""
    out: list[str] = []
    start = 0
    for m in _CLAUSE.finditer(sentence):
        left, right = sentence[start : m.start()], sentence[m.end() :]
        is_list = "," in left  # "a, b, and c"
        if m.group().startswith(";") or (
            not is_list and _words(left) >= MIN_CLAUSE_WORDS <= _words(right)
        ):
            out.append(left)
            start = m.end()
    out.append(sentence[start:])
    return out


def _words(text: str) -> int:
    return len(re.findall(r"\w+", text))


def _sentences(line: str) -> list[str]:
    parts = _SENTENCE.split(line)
    out: list[str] = []
    for part in parts:
        if out and _ABBREV.search(out[-1]):
            out[-1] = f"{out[-1]} {part}"
        else:
            out.append(part)
    return out


def _clean(clause: str) -> str | None:
    claim = clause.strip().strip("*_").strip()
    if not claim or claim.endswith("?") or _META.match(claim):
        return None
    if len(re.findall(r"\w+", claim)) < MIN_WORDS:
        return None
    claim = claim[0].upper() + claim[1:]
    return claim if claim[-1] in ".!\"')" else claim + "."


SPLIT_PROMPT = (
    "Split the text into short, self-contained factual claims that can each be checked "
    "against evidence. Resolve pronouns. One claim per line, no numbering, nothing else. "
    "Leave out questions, opinions and courtesies.\n\nText:\n{text}"
)


def split_with_model(text: str, chat: Any, *, max_claims: int = 32) -> list[str]:
    """Ask a (large) chat model for the claims; fall back to the rules if it gives none."""
    reply = chat.invoke(SPLIT_PROMPT.format(text=text))
    content = reply.content if hasattr(reply, "content") else str(reply)
    lines = [_clean(_BULLET.sub("", ln)) for ln in str(content).splitlines()]
    claims = list(dict.fromkeys(c for c in lines if c))
    return claims[:max_claims] or split_claims(text, max_claims=max_claims)
