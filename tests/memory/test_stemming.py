"""BM25 matches word forms when PyStemmer (a dependency) is installed, and the hybrid's BM25
weight is the one chosen for stemmed BM25."""

from __future__ import annotations

import pytest

from podium.memory.documents import search
from podium.memory.index import LexicalIndex


def test_bm25_finds_another_form_of_the_word() -> None:
    pytest.importorskip("Stemmer")
    index = LexicalIndex(
        [1, 2, 3],
        [
            "Electronics carry a two year warranty against defects.",
            "Standard delivery takes three to five business days.",
            "Polar bears are threatened with extinction.",
        ],
    )
    # Neither query shares a word with its document as written.
    assert index.search("warranties", 3)[1].tolist() == [1]
    assert index.search("going extinct", 3)[1].tolist() == [3]
    assert search.STEMMING and search.HYBRID_WEIGHTS["bm25"] == 0.8


def test_without_pystemmer_the_weight_chosen_for_unstemmed_bm25_is_used() -> None:
    if search.STEMMING:
        pytest.skip("PyStemmer is installed here")
    assert search.HYBRID_WEIGHTS == {"dense": 1.0, "bm25": 0.6}
