"""Column and table names as words: ``Tumor_Size_cm`` -> ``tumor size cm``.

Used by the profiles (:mod:`.tables`, the text a column is embedded as) and the matchers
(:mod:`.signals`, token overlap of names).
"""

from __future__ import annotations

import re

_CAMEL = re.compile(
    r"(?<=[a-z])(?=[A-Z])|(?<=[A-Z])(?=[A-Z][a-z])|(?<=[A-Za-z])(?=\d)|(?<=\d)(?=[A-Za-z])"
)
_SPLIT = re.compile(r"[^A-Za-z0-9]+")


def tokenize(name: str) -> list[str]:
    """``Tumor_Size_cm`` -> [tumor, size, cm]; ``ageAtIndex`` -> [age, at, index]."""
    tokens: list[str] = []
    for part in _SPLIT.split(name):
        tokens.extend(t.lower() for t in _CAMEL.split(part) if t)
    return tokens


def humanize(name: str) -> str:
    """A name as the words it is made of, or the name itself when it has none."""
    return " ".join(tokenize(name)) or name
