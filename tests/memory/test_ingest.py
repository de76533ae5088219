"""Ingestion into the document store and search over it, on the real embedded encoder."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from podium.memory.documents import DocumentStore

from .pdf import make_pdf

pytestmark = pytest.mark.slow

DOCS = {
    "returns.md": "# Returns\nItems can be returned within 30 days of delivery for a full refund.",
    "shipping.md": "# Shipping\nStandard delivery takes three to five business days.",
    "warranty.md": "# Warranty\nElectronics carry a two year warranty against defects.",
}


@pytest.fixture
def docs(tmp_path: Path) -> Path:
    folder = tmp_path / "docs"
    folder.mkdir()
    for name, text in DOCS.items():
        (folder / name).write_text(text)
    return folder


@pytest.fixture
def store(tmp_path: Path) -> DocumentStore:
    return DocumentStore(f"sqlite:///{tmp_path / 'store.sqlite'}")


def test_ingest_then_search_finds_the_answering_document(store: DocumentStore, docs: Path) -> None:
    report = store.ingest([docs])
    assert (len(report.added), report.chunks, report.errors) == (3, 3, {})
    for mode in ("hybrid", "dense", "bm25"):
        top = store.search("how many days does delivery take?", k=2, mode=mode)[0]
        assert top.source == str(docs / "shipping.md"), mode
        assert top.title == "Shipping"


def test_reingest_skips_unchanged_and_updates_changed_files(
    store: DocumentStore, docs: Path
) -> None:
    store.ingest([docs])
    again = store.ingest([docs])
    assert (len(again.unchanged), again.chunks) == (3, 0)
    os.utime(docs / "shipping.md", ns=(2, 2))  # touched, same content
    touched = store.ingest([docs])
    assert (len(touched.unchanged), touched.chunks) == (3, 0)

    (docs / "returns.md").write_text("# Returns\nReturns are accepted for 60 days, no receipt.")
    os.utime(docs / "returns.md", ns=(1, 1))  # a different mtime even on coarse clocks
    report = store.ingest([docs])
    assert report.updated == [str(docs / "returns.md")]
    hit = store.search("how long can I return an item?", k=1)[0]
    assert "60 days" in hit.text
    assert all("30 days" not in h.text for h in store.search("30 days refund", k=5))
    assert store.check().ok


def test_deleted_documents_are_not_found(store: DocumentStore, docs: Path) -> None:
    store.ingest([docs])
    assert store.remove(str(docs / "warranty.md"))
    hits = store.search("warranty on electronics", k=5)
    assert str(docs / "warranty.md") not in {h.source for h in hits}
    (docs / "shipping.md").unlink()
    report = store.ingest([docs], prune=True)
    assert report.deleted == [str(docs / "shipping.md")]
    # The removed file is still on disk, so ingesting the folder brings it back.
    assert store.sources() == [str(docs / "returns.md"), str(docs / "warranty.md")]
    assert store.check().ok


def test_duplicate_content_is_stored_once(store: DocumentStore, docs: Path) -> None:
    (docs / "copy.md").write_text(DOCS["returns.md"])
    report = store.ingest([docs])
    assert report.duplicates == {str(docs / "returns.md"): str(docs / "copy.md")} or (
        report.duplicates == {str(docs / "copy.md"): str(docs / "returns.md")}
    )
    assert len(store.sources()) == 3


def test_filters_by_source_and_page(store: DocumentStore, docs: Path) -> None:
    (docs / "manual.pdf").write_bytes(
        make_pdf(["Delivery of spare parts takes two weeks.", "The manual ends here."])
    )
    html = "<html><body><h1>Delivery</h1><p>Express delivery arrives tomorrow.</p></body></html>"
    (docs / "faq.html").write_text(html)
    store.ingest([docs])
    pdf_hits = store.search("delivery time", k=3, where={"source": "*.pdf"})
    assert {h.source for h in pdf_hits} == {str(docs / "manual.pdf")}
    assert pdf_hits[0].page == 1
    assert [h.page for h in store.search("delivery", where={"page": 2})] == [2]
    assert store.search("delivery", where={"source": "*.docx"}) == []
    assert store.search("delivery", where={"kind": "html"})[0].title == "Delivery"


def test_a_reopened_store_searches_without_reembedding(
    tmp_path: Path, store: DocumentStore, docs: Path
) -> None:
    store.ingest([docs])
    store.close()
    reopened = DocumentStore(f"sqlite:///{tmp_path / 'store.sqlite'}")
    assert reopened.check().ok
    assert reopened.sync() == {"added": 0, "removed": 0}
    assert reopened.search("two year warranty", k=1)[0].source == str(docs / "warranty.md")


def test_bad_files_are_reported_and_the_rest_ingested(store: DocumentStore, docs: Path) -> None:
    (docs / "empty.md").write_text("")
    (docs / "blob.txt").write_bytes(b"\x00\x01\x02binary")
    report = store.ingest([docs])
    assert len(report.added) == 3
    assert "is empty" in report.errors[str(docs / "empty.md")]
    assert "looks binary" in report.errors[str(docs / "blob.txt")]


def test_a_document_cut_into_chunks_is_ranked_once_under_its_best_passage(
    store: DocumentStore,
) -> None:
    parts = [
        "The boiler is serviced every October by Acme Heating; the engineer checks the burner, "
        "cleans the heat exchanger and tests the flue gas.",
        "Boiler pressure should read between 1 and 1.5 bar when cold; top it up with the filling "
        "loop under the boiler if it drops below 1 bar.",
        "If the boiler shows fault E119 the pressure is too low; after refilling, reset the "
        "boiler with the reset button and wait two minutes.",
        "The boiler's warranty runs for seven years provided the annual service is done by an "
        "approved engineer and recorded in the logbook.",
    ]
    manual = "# Boiler manual\n" + "\n\n".join(p + " " + "Keep this manual. " * 25 for p in parts)
    store.add_texts(
        [
            {"source": "boiler-manual", "text": manual},
            {"source": "radiators", "text": "Bleed the radiators each autumn to let air out."},
            {"source": "annex", "text": "The boiler in the annex is serviced by the landlord."},
            {"source": "garden", "text": "The garden tap is turned off in winter."},
        ]
    )
    assert len(store.chunks("boiler-manual")) >= 4
    query = "how do I look after the boiler?"

    passages = store.search(query, k=5, per="chunk")
    assert sum(h.source == "boiler-manual" for h in passages) >= 2

    documents = store.search(query, k=5)
    sources = [h.source for h in documents]
    assert len(sources) == len(set(sources)) == 4
    manual_hit = documents[sources.index("boiler-manual")]
    assert manual_hit.matched_chunks >= 2
    best_passage = next(h for h in passages if h.source == "boiler-manual")
    assert manual_hit.chunk_id == best_passage.chunk_id


def test_queries_encoded_in_one_batch_are_searched_without_the_encoder_again(
    store: DocumentStore, docs: Path
) -> None:
    store.ingest([docs])
    questions = ["how long is the warranty?", "when does delivery arrive?"]
    calls: list[int] = []
    encode = store.embedder.encode
    store.embedder.encode = lambda texts, **kw: calls.append(len(texts)) or encode(texts, **kw)
    store.encode_queries(questions)
    assert calls == [2]
    for mode in ("dense", "hybrid"):
        assert store.search(questions[0], k=1, mode=mode)[0].source.endswith("warranty.md")
    assert calls == [2]
    store.search("something else entirely", k=1, mode="dense")
    assert calls == [2, 1]


def test_an_empty_store_finds_nothing_in_every_mode(store: DocumentStore) -> None:
    for mode in ("hybrid", "dense", "bm25"):
        assert store.search("how many days does delivery take?", k=3, mode=mode) == []
