"""Contrast pairs made from the training pairs, so the verifier learns what a contradiction
looks like (Climate-FEVER has few refutations, and almost none that flip a direction, a
negation or a number — the contradictions a written answer most often makes).

For every SUPPORTS pair (claim, evidence) of the training claims:
- (evidence, evidence) is SUPPORTS and (flip(evidence), evidence) is REFUTES;
- (flip(claim), evidence) is REFUTES.
``flip`` swaps a direction word for its opposite (rose → fell), else changes a number the
evidence states, else adds or removes a negation. Only training claims are augmented; the
validation figures are measured on real pairs only.
"""

from __future__ import annotations

import re

_PAIRS = (
    "increase decrease",
    "increases decreases",
    "increased decreased",
    "increasing decreasing",
    "rise fall",
    "rises falls",
    "rising falling",
    "rose fell",
    "more less",
    "higher lower",
    "warming cooling",
    "warmer cooler",
    "grow shrink",
    "grows shrinks",
    "growing shrinking",
    "grew shrank",
    "gain loss",
    "above below",
    "larger smaller",
    "major minor",
    "stronger weaker",
    "positive negative",
    "accelerating slowing",
    "declined increased",
    "decline increase",
    "declining increasing",
    "melting freezing",
    "before after",
)
OPPOSITE: dict[str, str] = {}
for _pair in _PAIRS:
    _a, _b = _pair.split()
    OPPOSITE.setdefault(_a, _b)
    OPPOSITE.setdefault(_b, _a)

_WORD = re.compile(r"[A-Za-z]+")
_NUMBER = re.compile(r"(?<![\w.])(\d+(?:\.\d+)?)(?![\w.])")
_AUX = re.compile(
    r"\b(is|are|was|were|has|have|had|will|can|does|do|did|could|would|should|may)\b(?! not)"
)
_NOT = re.compile(r"\s+not\b|n't\b")


def _match_case(word: str, like: str) -> str:
    return word.capitalize() if like[0].isupper() else word


def flip_direction(text: str) -> str | None:
    for m in _WORD.finditer(text):
        opposite = OPPOSITE.get(m.group().lower())
        if opposite:
            return text[: m.start()] + _match_case(opposite, m.group()) + text[m.end() :]
    return None


def flip_number(text: str, evidence: str) -> str | None:
    for m in _NUMBER.finditer(text):
        if m.group(1) in evidence and not re.fullmatch(r"1[89]\d\d|20\d\d", m.group(1)):
            value = float(m.group(1))
            new = value * 3 if value < 10 else value * 0.4
            shown = f"{new:g}" if "." in m.group(1) else str(round(new))
            return text[: m.start()] + shown + text[m.end() :]
    return None


def flip_negation(text: str) -> str | None:
    if _NOT.search(text):
        return _NOT.sub("", text, count=1).replace("ca ", "can ")
    m = _AUX.search(text)
    if m:
        return text[: m.end()] + " not" + text[m.end() :]
    return None


def flip(text: str, evidence: str) -> str | None:
    """A contradiction of ``text`` given ``evidence``, or None when no rule applies."""
    return flip_direction(text) or flip_number(text, evidence) or flip_negation(text)


def contrast_pairs(
    claims: list[str], evidences: list[str], labels: list[int], supports: int, refutes: int
) -> list[tuple[int, str, str, int]]:
    """``(source_row, claim, evidence, label)`` for every contrast pair of the given rows."""
    out: list[tuple[int, str, str, int]] = []
    seen: set[str] = set()
    for i, (c, e, y) in enumerate(zip(claims, evidences, labels, strict=True)):
        if y != supports:
            continue
        if e not in seen:
            seen.add(e)
            out.append((i, e, e, supports))
            flipped_e = flip(e, e)
            if flipped_e and flipped_e != e:
                out.append((i, flipped_e, e, refutes))
        flipped_c = flip(c, e)
        if flipped_c and flipped_c != c:
            out.append((i, flipped_c, e, refutes))
    return out
