"""A question answered by one sentence of a paragraph about something else, on the real encoder.

The demo shop's about.md tells customer support's hours in one sentence of a paragraph about
the shop: as a whole the paragraph is far from "opening hours", that sentence is close to it.
"""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from podium.memory.documents import DocumentStore
from podium.memory.documents.sync import SENTENCE_BITS

pytestmark = pytest.mark.slow

DEMO_DOCS = Path(__file__).resolve().parents[2] / "podium" / "demo" / "docs"
HOURS = "What are customer support's opening hours?"


@pytest.fixture
def docs(tmp_path: Path) -> Path:
    return Path(shutil.copytree(DEMO_DOCS, tmp_path / "docs"))


@pytest.fixture
def store(tmp_path: Path) -> DocumentStore:
    return DocumentStore(f"sqlite:///{tmp_path / 'store.sqlite'}")


def test_the_demo_documents_answer_the_opening_hours_by_the_sentence_that_tells_them(
    store: DocumentStore, docs: Path
) -> None:
    store.ingest([docs])
    for mode in ("hybrid", "dense"):
        top = store.search(HOURS, k=3, mode=mode)[0]
        assert top.source == str(docs / "about.md"), mode
        assert "08:00 to 20:00 CET on weekdays" in top.text


def test_a_chunk_is_scored_by_its_own_cosine_alone_when_sentences_do_not_count(
    store: DocumentStore, docs: Path
) -> None:
    store.ingest([docs])
    paragraph_only = store.search(HOURS, k=1, mode="dense", sentence_weight=0.0)[0]
    assert paragraph_only.source != str(docs / "about.md")
    with_sentences = store.search(HOURS, k=1, mode="dense")[0]
    assert with_sentences.scores["dense"] > paragraph_only.scores["dense"]


def test_a_filter_applies_to_the_sentences_too(store: DocumentStore, docs: Path) -> None:
    store.ingest([docs])
    hits = store.search(HOURS, k=5, mode="dense", where={"source": "*returns.md"})
    assert [h.source for h in hits] == [str(docs / "returns.md")]


def test_every_chunk_has_sentence_vectors_and_a_deleted_document_loses_them(
    store: DocumentStore, docs: Path
) -> None:
    store.ingest([docs])
    sentences = store.vectors.sentences()
    chunks = {i >> SENTENCE_BITS for i in sentences.ids}
    assert chunks == store.vectors.index().ids
    assert len(sentences) > len(chunks)  # most demo chunks hold several sentences
    (docs / "about.md").unlink()
    store.ingest([docs], prune=True)
    assert {i >> SENTENCE_BITS for i in sentences.ids} == store.vectors.index().ids


def test_a_store_saved_before_sentence_vectors_gets_them_when_it_opens(
    tmp_path: Path, store: DocumentStore, docs: Path
) -> None:
    store.ingest([docs])
    store.close()
    sentence_file = store.vectors.sentence_path
    sentence_file.unlink()  # as a store written before sentence vectors existed
    reopened = DocumentStore(f"sqlite:///{tmp_path / 'store.sqlite'}")
    assert reopened.check().ok
    assert reopened.sync() == {"added": 0, "removed": 0}  # chunk vectors are all there
    assert sentence_file.is_file()
    assert reopened.search(HOURS, k=1)[0].source == str(docs / "about.md")
