"""Evidence selection that matters for the verdict: the claim's numbers and names must appear.

Embedding similarity finds sentences on the claim's *topic*; a verdict needs a sentence about
the claim's *facts*. A claim about 1.5 °C is not refuted by a sentence about a 2 m sea-level
rise, and "Greenland lost ice" is not supported by a sentence about Antarctica. So:

- :func:`key_terms`: the claim's numbers (with the word after each, its unit: ``30 days``,
  ``1.5 °C``) and its names (capitalised words past the first, acronyms such as CO2).
- :func:`rank`: sentences ordered by cosine plus a bonus for the share of key terms they
  contain, so the sentence that names the claim's facts is among the top ``k``.
- :func:`admissible`: whether a sentence may decide a label. SUPPORTS needs every number of
  the claim in the sentence and half of its names; REFUTES needs half of its names and, for a
  claim with numbers, either one of those numbers or a number with the same unit (``60 days``
  against ``30 days`` is a contradiction, against ``2 m`` it is another topic). A sentence
  that may not decide counts as not enough information.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from .labels import NEI, REFUTES, SUPPORTS

# A number and the word after it, its unit ("30 days", "1.5 °C"); shared with .restatement.
QUANTITY = re.compile(r"(?<![\w.])(\d+(?:[.,]\d+)*)\s*(%|°\s*[CF]|[A-Za-z€$£]+)?")
_TOKEN = re.compile(r"[A-Za-z][\w'’-]*")
_ACRONYM = re.compile(r"^(?:[A-Z]{2,}\d*|[A-Z]+\d+[A-Za-z\d]*)$")
_COMMON = frozenset(
    "the a an this that these those it its there we our you your they their he she i in on "
    "at for of to by from with and or but if when since after before during every each "
    "all most some many no not".split()
)
_UNIT_ALIAS = {
    "percent": "%",
    "per": "%",
    "pct": "%",
    "°c": "°c",
    "degrees": "°c",
    "celsius": "°c",
    "day": "days",
    "year": "years",
    "month": "months",
    "eur": "eur",
    "euro": "eur",
    "euros": "eur",
    "€": "eur",
}
BONUS = 0.15  # ranking bonus for a sentence with every key term (cosine is in [-1, 1])
NAME_SHARE = 0.5


@dataclass(frozen=True)
class Terms:
    """The facts a sentence must mention to decide a claim."""

    numbers: frozenset[str]
    units: frozenset[tuple[str, str]]  # (number, unit)
    names: frozenset[str]

    @property
    def empty(self) -> bool:
        return not self.numbers and not self.names


def _norm_number(text: str) -> str:
    text = text.replace(",", "") if re.fullmatch(r"\d{1,3}(,\d{3})+", text) else text
    text = text.replace(",", ".")
    return f"{float(text):g}" if re.fullmatch(r"\d+(\.\d+)?", text) else text


def _unit(word: str | None) -> str:
    if not word:
        return ""
    w = re.sub(r"\s+", "", word.lower())
    return _UNIT_ALIAS.get(w, w)


def numbers(text: str) -> set[tuple[str, str]]:
    """(number, unit) pairs; years stand alone (their 'unit' is the next word, not kept)."""
    out = set()
    for m in QUANTITY.finditer(text):
        value = _norm_number(m.group(1))
        unit = "" if re.fullmatch(r"1[89]\d\d|20\d\d", value) else _unit(m.group(2))
        out.add((value, unit))
    return out


def names(text: str) -> set[str]:
    """Capitalised words that are not the first of a sentence, and acronyms anywhere."""
    out = set()
    units = {u for _, u in numbers(text)}
    first = True
    for m in _TOKEN.finditer(text):
        word = re.sub(r"['’]s?$", "", m.group())
        if len(word) < 2 or _unit(word) in units:
            first = False
            continue
        starts = first or bool(re.search(r"[.!?:]\s*$", text[: m.start()]))
        first = False
        if _ACRONYM.match(word) or (
            not starts and word[:1].isupper() and word.lower() not in _COMMON
        ):
            out.add(word.lower())
    for m in re.finditer(r"\b[A-Z]+\d+\w*\b", text):  # CO2, H2O
        out.add(m.group().lower())
    return out


def key_terms(claim: str) -> Terms:
    nums = numbers(claim)
    return Terms(
        numbers=frozenset(n for n, _ in nums),
        units=frozenset((n, u) for n, u in nums if u),
        names=frozenset(names(claim)),
    )


def _words(text: str) -> str:
    return " " + " ".join(re.findall(r"[a-z0-9]+", text.lower())) + " "


def _name_share(terms: Terms, sentence: str) -> float:
    if not terms.names:
        return 1.0
    words = _words(sentence)
    return sum(f" {n}" in words for n in terms.names) / len(terms.names)


def coverage(terms: Terms, sentence: str) -> float:
    """The share of the claim's key terms (numbers and names) the sentence mentions."""
    if terms.empty:
        return 1.0
    found_numbers = {n for n, _ in numbers(sentence)}
    hits = len(terms.numbers & found_numbers) + _name_share(terms, sentence) * len(terms.names)
    return hits / (len(terms.numbers) + len(terms.names))


def rank(claim: str, sentences: Sequence[str], sims: np.ndarray, k: int) -> list[int]:
    """The ``k`` sentences most worth checking: cosine plus :data:`BONUS` × coverage."""
    terms = key_terms(claim)
    score = np.asarray(sims, dtype=np.float64) + BONUS * np.array(
        [coverage(terms, s) for s in sentences]
    )
    return [int(i) for i in np.argsort(-score, kind="stable")[:k]]


def admissible(label: int, claim: str, sentence: str) -> bool:
    """May ``sentence`` decide ``label`` for ``claim``? (NOT_ENOUGH_INFO always may.)"""
    if label not in (SUPPORTS, REFUTES):
        return True
    terms = key_terms(claim)
    if _name_share(terms, sentence) < NAME_SHARE:
        return False
    if not terms.numbers:
        return True
    found = numbers(sentence)
    found_numbers = {n for n, _ in found}
    if label == SUPPORTS:
        return terms.numbers <= found_numbers
    same_unit = {u for _, u in terms.units} & {u for _, u in found if u}
    return bool(terms.numbers & found_numbers) or bool(same_unit)


def gate(claim: str, sentences: Sequence[str], decided: np.ndarray) -> np.ndarray:
    """The decisions with every inadmissible SUPPORTS / REFUTES turned into NOT_ENOUGH_INFO."""
    out = np.array(decided, copy=True)
    for i, (sentence, label) in enumerate(zip(sentences, decided, strict=True)):
        if not admissible(int(label), claim, sentence):
            out[i] = NEI
    return out
