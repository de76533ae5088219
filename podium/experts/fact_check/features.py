"""Features of a (claim, evidence) pair for the trained verifier.

The embedded MiniLM encoder gives one vector per text; the classic sentence-pair features
``[u, v, |u - v|, u * v]`` (InferSent / SBERT) carry topic and agreement, and a few lexical
cues carry what mean-pooled embeddings blur: word overlap, negation, numbers, direction
words (rise / fall) and evidence that is only a quoted headline.
"""

from __future__ import annotations

import math
import re
from collections.abc import Sequence

import numpy as np

FEATURE_VERSION = 1

_WORD = re.compile(r"[a-z0-9]+(?:[.,][0-9]+)?")
_NUMBER = re.compile(r"\d+(?:[.,]\d+)?")
_STOP = frozenset(
    "a an the of to in on at for by with from and or as is are was were be been being this that "
    "these those it its their there than then which who whom what when where how has have had "
    "do does did will would can could may might should into about over under more most some "
    "such not no".split()
)
_NEGATION = frozenset(
    "not no never none nothing neither nor without cannot can't don't doesn't didn't isn't "
    "aren't wasn't weren't won't hasn't haven't lack lacks fail fails failed false myth "
    "deny denies unlikely".split()
)
_UP = frozenset(
    "increase increases increased increasing rise rises rising rose grow grows growing grew "
    "growth higher more gain gains warming warmer accelerate accelerating expand expanding "
    "record".split()
)
_DOWN = frozenset(
    "decrease decreases decreased decreasing fall falls falling fell decline declines "
    "declining drop drops dropped lower less loss losses cooling cooler shrink shrinking slow "
    "slowing reduce reduced".split()
)
_HEDGE = frozenset("may might could possibly perhaps suggest suggests likely uncertain".split())
_CONTRAST = frozenset("however but although though despite whereas yet contrary".split())

LEXICAL_NAMES = (
    "cosine",
    "jaccard",
    "claim_coverage",
    "evidence_coverage",
    "claim_negations",
    "evidence_negations",
    "negation_mismatch",
    "claim_numbers_found",
    "number_mismatch",
    "direction_conflict",
    "direction_agree",
    "evidence_hedges",
    "evidence_contrast",
    "quoted_headline",
    "log_claim_len",
    "log_evidence_len",
)


def tokens(text: str) -> list[str]:
    return _WORD.findall(text.lower().replace("’", "'"))


def content(words: Sequence[str]) -> set[str]:
    return {w for w in words if w not in _STOP and len(w) > 2}


def lexical_features(claim: str, evidence: str, cosine: float) -> list[float]:
    cw, ew = tokens(claim), tokens(evidence)
    cs, es = content(cw), content(ew)
    inter = cs & es
    union = cs | es
    c_neg = sum(w in _NEGATION for w in cw)
    e_neg = sum(w in _NEGATION for w in ew)
    c_num, e_num = set(_NUMBER.findall(claim)), set(_NUMBER.findall(evidence))
    found = len(c_num & e_num) / len(c_num) if c_num else 1.0
    mismatch = float(bool(c_num) and bool(e_num) and not (c_num & e_num))
    c_up, c_down = bool(set(cw) & _UP), bool(set(cw) & _DOWN)
    e_up, e_down = bool(set(ew) & _UP), bool(set(ew) & _DOWN)
    conflict = float((c_up and e_down and not c_down) or (c_down and e_up and not c_up))
    agree = float((c_up and e_up) or (c_down and e_down))
    stripped = evidence.strip()
    headline = float(stripped.startswith(('"', "“")) and len(ew) < 25)
    return [
        cosine,
        len(inter) / len(union) if union else 0.0,
        len(inter) / len(cs) if cs else 0.0,
        len(inter) / len(es) if es else 0.0,
        min(c_neg, 3) / 3,
        min(e_neg, 3) / 3,
        float((c_neg > 0) != (e_neg > 0)),
        found,
        mismatch,
        conflict,
        agree,
        float(bool(set(ew) & _HEDGE)),
        float(bool(set(ew) & _CONTRAST)),
        headline,
        math.log1p(len(cw)) / 4,
        math.log1p(len(ew)) / 4,
    ]


def pair_features(
    claims: Sequence[str], evidences: Sequence[str], u: np.ndarray, v: np.ndarray
) -> np.ndarray:
    """One row per pair; ``u`` and ``v`` are the normalised embeddings of claims / evidences."""
    if len(claims) != len(evidences) or len(claims) != len(u) or len(u) != len(v):
        raise ValueError("claims, evidences and their embeddings must have the same length")
    cos = np.sum(u * v, axis=1)
    lex = np.array(
        [lexical_features(c, e, float(s)) for c, e, s in zip(claims, evidences, cos, strict=True)],
        dtype=np.float32,
    ).reshape(len(claims), len(LEXICAL_NAMES))
    return np.hstack([u, v, np.abs(u - v), u * v, lex]).astype(np.float32)
