"""English Snowball stems, for BM25's terms and for reading whether an answer says what a
finding says. PyStemmer is a dependency; without it words pass through unstemmed but for a
plural "s", so both readers degrade the same way."""

from __future__ import annotations

from typing import Any

_STEMMER: Any = False


def english_stemmer() -> Any:
    """PyStemmer's English stemmer, loaded once; None when PyStemmer is not installed."""
    global _STEMMER
    if _STEMMER is False:
        try:
            import Stemmer

            _STEMMER = Stemmer.Stemmer("english")
        except ImportError:
            _STEMMER = None
    return _STEMMER


def stems(words: list[str]) -> list[str]:
    """The stem of each word (a plural "s" stripped when PyStemmer is missing)."""
    stemmer = english_stemmer()
    if stemmer is None:
        return [w[:-1] if w.endswith("s") and not w.endswith("ss") else w for w in words]
    return list(stemmer.stemWords(words))
