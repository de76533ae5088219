"""A question answered by one sentence of a paragraph about something else, on the real encoder.

The demo shop's about.md tells customer support's hours in one sentence of a paragraph about
the shop: as a whole the paragraph is far from "opening hours", that sentence is close to it.
"""

from __future__ import annotations

import logging
import shutil
from pathlib import Path
from typing import Any

import numpy as np
import pytest
import sqlalchemy as sa
from sqlalchemy.orm import Session

from podium.memory.documents import DocumentStore, passage
from podium.memory.documents.sync import (
    CHUNK_VECTORS,
    SENTENCE_BITS,
    sentence_passages,
    sentences_of,
)
from podium.memory.index import VectorIndex
from podium.memory.tables import ChunkRow

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


def counted(store: DocumentStore, monkeypatch: pytest.MonkeyPatch) -> list[list[str]]:
    """The texts of every encoder call ``store`` makes from now on, one list per call."""
    calls: list[list[str]] = []
    encode = store.embedder.encode

    def counting(texts: list[str], **kw: Any) -> Any:
        calls.append(list(texts))
        return encode(texts, **kw)

    monkeypatch.setattr(store.embedder, "encode", counting)
    return calls


def chunk_and_sentence_vectors(store: DocumentStore) -> dict[int, tuple[np.ndarray, np.ndarray]]:
    """Every chunk's own vector and its sentences' vectors, by chunk id."""
    index, sentences = store.vectors.index(), store.vectors.sentences()
    ids, vectors = index.vectors()
    owners, sentence_ids = sentences_of(sentences, ids.tolist())
    _, sentence_vectors = sentences.vectors(sentence_ids)
    return {
        c: (v, sentence_vectors[[j for j, o in enumerate(owners) if o == c]])
        for c, v in zip(ids.tolist(), vectors, strict=True)
    }


def test_ingestion_encodes_only_the_sentences_in_one_call_per_batch(
    store: DocumentStore, docs: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    calls = counted(store, monkeypatch)
    store.ingest([docs])
    assert len(calls) == 1  # the demo documents fit one batch
    encoded = calls[0]
    assert len(encoded) == len(set(encoded))  # a sentence two chunks share is encoded once
    chunks = store.chunks(str(docs / "about.md"))
    paragraph = next(c for c in chunks if "08:00 to 20:00" in c.text)
    assert passage(paragraph.title, paragraph.text) not in encoded  # several sentences: not whole
    assert set(sentence_passages(paragraph.title, paragraph.text)) <= set(encoded)


def test_a_chunks_vector_is_the_normalised_mean_of_its_sentences_vectors(
    store: DocumentStore, docs: Path
) -> None:
    store.ingest([docs])
    for chunk, sentences in chunk_and_sentence_vectors(store).values():
        mean = sentences.mean(axis=0)
        assert np.allclose(chunk, mean / np.linalg.norm(mean), atol=1e-5)


def written_before_chunk_vectors_were_means(store: DocumentStore) -> None:
    """Rewrite ``store``'s chunk index as the code before wrote it: each chunk's passage
    encoded whole, and no ``chunk_vectors`` key in the file's header."""
    index = store.vectors.index()
    ids, _ = index.vectors()
    with Session(store.engine) as s:
        rows = s.execute(sa.select(ChunkRow.id, ChunkRow.title, ChunkRow.text)).all()
    texts = {r.id: passage(r.title, r.text) for r in rows}
    whole = VectorIndex(index.dim)
    whole.add(ids.tolist(), store.embedder.encode([texts[i] for i in ids.tolist()]))
    whole.save(store.vectors.index_path, {"model": store.vectors.embeddings})


def test_an_index_of_whole_chunk_vectors_is_derived_again_from_its_sentences_without_encoding(
    tmp_path: Path,
    store: DocumentStore,
    docs: Path,
    caplog: pytest.LogCaptureFixture,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    store.ingest([docs])
    store.close()
    expected = chunk_and_sentence_vectors(store)
    written_before_chunk_vectors_were_means(store)
    reopened = DocumentStore(f"sqlite:///{tmp_path / 'store.sqlite'}")
    before = reopened.check()  # `podium index check` says so before anything is derived
    assert before.outdated and not before.ok and before.chunk_vectors == 1
    calls = counted(reopened, monkeypatch)
    with caplog.at_level(logging.WARNING, logger="podium.memory"):
        assert reopened.sync() == {"added": len(expected), "removed": 0}
    assert "were encoded whole" in caplog.text
    assert calls == []
    derived = chunk_and_sentence_vectors(reopened)
    for c, (chunk, _) in expected.items():
        assert np.allclose(derived[c][0], chunk, atol=1e-6)
    after = reopened.check()
    assert after.ok and after.chunk_vectors == CHUNK_VECTORS
    assert reopened.search(HOURS, k=1)[0].source == str(docs / "about.md")


def test_a_store_saved_before_sentence_vectors_is_encoded_again_when_it_opens(
    tmp_path: Path, store: DocumentStore, docs: Path
) -> None:
    store.ingest([docs])
    store.close()
    written_before_chunk_vectors_were_means(store)
    sentence_file = store.vectors.sentence_path
    sentence_file.unlink()  # as a store written before sentence vectors existed
    reopened = DocumentStore(f"sqlite:///{tmp_path / 'store.sqlite'}")
    chunks = reopened.check().chunks
    assert reopened.sync() == {"added": chunks, "removed": 0}  # every chunk encoded again
    assert sentence_file.is_file()
    for chunk, sentences in chunk_and_sentence_vectors(reopened).values():
        mean = sentences.mean(axis=0)
        assert np.allclose(chunk, mean / np.linalg.norm(mean), atol=1e-5)
    assert reopened.search(HOURS, k=1)[0].source == str(docs / "about.md")
