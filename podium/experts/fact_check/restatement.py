"""Verdicts that need no model: a sentence that restates a claim, or restates it with another
number for the same quantity.

The small verifier reads a claim and a sentence as two vectors, and vectors barely tell "a
two-year warranty" from "a three-year warranty": on the demo shop it called "Every product
carries a three-year warranty" supported by "Every product ... carries a two-year warranty",
and "the shop was founded in 2019 in Rotterdam" not enough information against the sentence
that says exactly that. Two readings are exact enough to decide by rule:

* **Restated**: the sentence holds every content word of the claim (compared by stem) and
  every number with its unit, and neither negates what the other does not. SUPPORTS.
* **Restated with another quantity**: the same, except that a number the claim gives for a
  unit ("three-year", "30 days", "12.95 EUR", a year) is absent and the sentence gives another
  number for that unit. REFUTES.

Anything less (a missing word, a negation on one side only) is left to the verifier. Number
words are read as numbers ("three-year" is 3 years). How often the rules fire on
Climate-FEVER and how often they are right there is in BENCHMARKS.md (Fact checking).
"""

from __future__ import annotations

import re

from podium.memory.stemming import stems

from .evidence import QUANTITY, numbers
from .labels import REFUTES, SUPPORTS

_NUMBER_WORDS = {
    "one": 1,
    "two": 2,
    "three": 3,
    "four": 4,
    "five": 5,
    "six": 6,
    "seven": 7,
    "eight": 8,
    "nine": 9,
    "ten": 10,
    "eleven": 11,
    "twelve": 12,
    "fifteen": 15,
    "twenty": 20,
    "thirty": 30,
    "forty": 40,
    "fifty": 50,
    "sixty": 60,
    "ninety": 90,
    "hundred": 100,
}
_WORD_NUMBER = re.compile(r"\b(" + "|".join(_NUMBER_WORDS) + r")(?=[\s-]+[a-z])", re.I)
_HYPHENED = re.compile(r"(\d)-(?=[A-Za-z])")
_YEAR = re.compile(r"1[89]\d\d|20\d\d")
_NEGATION = re.compile(r"\b(?:not|no|never|none|nothing|without|cannot)\b|n't\b", re.I)
_FUNCTION_WORDS = frozenset(
    "the a an this that these those it its there we our us you your they their them he she his "
    "her i in on at for of to by from with and or but if when since after before during every "
    "each all some any is are was were be been being has have had will would can could may "
    "might shall should does do did so as into onto than then also just only about which who "
    "whom what whose where how get gets got per".split()
)


def restates(claim: str, sentence: str) -> int | None:
    """SUPPORTS or REFUTES when ``sentence`` restates ``claim`` (see the module docstring),
    else None."""
    if bool(_NEGATION.search(claim)) != bool(_NEGATION.search(sentence)):
        return None
    claim_q, sentence_q = _quantities(claim), _quantities(sentence)
    words = _content_words(claim)
    if len(words) < 2 or not words <= _content_words(sentence):
        return None
    if claim_q <= sentence_q:
        return SUPPORTS
    stated = {unit for _, unit in sentence_q}
    for number, unit in claim_q - sentence_q:
        if unit in stated and not any(n == number for n, _ in sentence_q):
            return REFUTES
    return None


def _normalised(text: str) -> str:
    """Number words as digits and "3-year" as "3 year", so quantities read alike."""
    text = _WORD_NUMBER.sub(lambda m: str(_NUMBER_WORDS[m.group(1).lower()]), text)
    return _HYPHENED.sub(r"\1 ", text)


def _quantities(text: str) -> set[tuple[str, str]]:
    """(number, unit) pairs, a year's unit being "year-of" (so 2018 and 2019 compare)."""
    out = set()
    for number, unit in numbers(_normalised(text)):
        out.add((number, "year-of" if not unit and _YEAR.fullmatch(number) else unit))
    return out


def _content_words(text: str) -> set[str]:
    """Stems of the words that say what a text claims, quantities left out."""
    text = QUANTITY.sub(" ", _normalised(text))
    words = [w for w in re.findall(r"[a-z]+", text.lower()) if w not in _FUNCTION_WORDS]
    return {w for w in stems(words) if len(w) > 1}
