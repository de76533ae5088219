"""Undo the usual evasions before a text is screened.

Attackers hide instructions from classifiers with look-alike letters (Cyrillic ``о`` for
``o``), invisible characters between letters, full-width forms, l33t digits, spaced-out
letters, and payloads wrapped in base64 or rot13. :func:`variants` returns the text as a
classifier should see it, plus every decoded payload; a guardian scores them all and keeps
the worst.
"""

from __future__ import annotations

import base64
import binascii
import codecs
import re
import unicodedata
from dataclasses import dataclass

# Zero-width and bidi controls, soft hyphen, word joiners, variation selectors, tag characters.
_INVISIBLE = re.compile(
    "[\u00ad\u034f\u061c\u115f\u1160\u17b4\u17b5\u180b-\u180f\u200b-\u200f\u202a-\u202e"
    "\u2060-\u206f\u3164\ufe00-\ufe0f\ufeff\uffa0\U000e0000-\U000e007f]"
)
_LEET = str.maketrans({"0": "o", "1": "i", "3": "e", "4": "a", "5": "s", "7": "t", "@": "a"})
_LEET_WORD = re.compile(r"\b(?=[\w@]*[a-zA-Z])(?=[\w@]*[013457@])[\w@]{3,}\b")
_SPACED = re.compile(r"\b(?:[A-Za-z][ ._\-]){3,}[A-Za-z]\b")
_BASE64 = re.compile(r"(?<![A-Za-z0-9+/=])[A-Za-z0-9+/]{16,}={0,2}(?![A-Za-z0-9+/=])")
_ROT13_HINT = re.compile(r"rot[\s\-_]?13|caesar", re.I)
_COMMON = frozenset(
    "the and you your all are for not this that with what how tell give make ignore "
    "instructions previous above system prompt rules now must from into say write".split()
)


@dataclass(frozen=True)
class Variant:
    """One reading of a text: ``how`` says what was undone to get it."""

    text: str
    how: str


def normalize(text: str) -> str:
    """NFKC, no invisible characters, look-alikes folded to ASCII, l33t and spacing undone."""
    text = unicodedata.normalize("NFKC", text)
    text = _INVISIBLE.sub("", text)
    text = _ascii(text)
    text = _LEET_WORD.sub(lambda m: m.group(0).translate(_LEET), text)
    return _SPACED.sub(lambda m: re.sub(r"[ ._\-]", "", m.group(0)), text)


def _ascii(text: str) -> str:
    """Fold look-alike letters (Cyrillic, Greek, mathematical alphabets) to ASCII."""
    from anyascii import anyascii

    return anyascii(text)


def variants(text: str) -> list[Variant]:
    """The readings worth screening: the normalised text and any payload decoded from it."""
    clean = normalize(text)
    out = [Variant(clean, "normalised" if clean != text else "as written")]
    for payload in _base64_payloads(text):
        out.append(Variant(normalize(payload), "base64-decoded"))
    rot = codecs.decode(clean, "rot13")
    if _ROT13_HINT.search(clean) or _english(rot) > _english(clean) + 1:
        out.append(Variant(rot, "rot13-decoded"))
    return out


def _base64_payloads(text: str) -> list[str]:
    found = []
    for match in _BASE64.finditer(text):
        chunk = match.group(0)
        try:
            raw = base64.b64decode(chunk + "=" * (-len(chunk) % 4), validate=True)
            decoded = raw.decode("utf-8")
        except (binascii.Error, UnicodeDecodeError, ValueError):
            continue
        printable = sum(ch.isprintable() or ch.isspace() for ch in decoded)
        if decoded and printable / len(decoded) > 0.95 and " " in decoded.strip():
            found.append(decoded)
    return found


def _english(text: str) -> int:
    return sum(w in _COMMON for w in re.findall(r"[a-z]+", text.lower()))
