"""Parsing and chunking: every format keeps its structure, bad files say what is wrong."""

from __future__ import annotations

import itertools
from pathlib import Path

import pytest

from podium.tools.documents import (
    DocumentRejected,
    chunk_document,
    iter_documents,
    parse_file,
    split_text,
)

from .pdf import make_pdf


def test_markdown_chunks_carry_their_heading_path(tmp_path: Path) -> None:
    doc = tmp_path / "guide.md"
    doc.write_text(
        "# Guide\nIntro text.\n\n## Returns\nReturn within 30 days.\n\n"
        "```\n# not a heading\n```\n\n## Shipping\nShips in 2 days.\n"
    )
    chunks = chunk_document(parse_file(doc))
    by_title = {c.title: c.text for c in chunks}
    assert by_title["Guide > Returns"].startswith("Return within 30 days.")
    assert "# not a heading" in by_title["Guide > Returns"]
    assert by_title["Guide > Shipping"] == "Ships in 2 days."
    assert parse_file(doc).title == "Guide"


def test_long_sections_are_cut_at_sentences_with_overlap() -> None:
    sentences = [f"Sentence number {i} says something about topic {i}." for i in range(40)]
    pieces = split_text(" ".join(sentences), max_chars=300, overlap=120)
    assert len(pieces) > 3
    assert all(len(p) <= 300 for p in pieces)
    for piece in pieces:  # never cut inside a sentence
        assert piece.startswith("Sentence number") and piece.endswith(".")
    for before, after in itertools.pairwise(pieces):
        last = before.split(". ")[-1]
        assert last in after and len(after.split(". ")[0]) < 120, "they share sentences"
        assert before.endswith(after[: after.index(last)] + last), "the overlap is a suffix"
    covered = " ".join(pieces)
    assert all(s in covered for s in sentences)


def test_html_keeps_headings_and_drops_scripts(tmp_path: Path) -> None:
    page = tmp_path / "page.html"
    page.write_text(
        "<html><head><title>Store help</title><script>var x = 'secret';</script></head>"
        "<body><nav>Home | About</nav><h1>Warranty</h1><p>Two years on all parts.</p>"
        "<h2>Exclusions</h2><ul><li>Water damage.</li><li>Lost items.</li></ul></body></html>"
    )
    doc = parse_file(page)
    assert doc.title == "Store help" and doc.kind == "html"
    chunks = chunk_document(doc)
    text = " ".join(c.text for c in chunks)
    assert "secret" not in text and "Home | About" not in text
    assert {c.title for c in chunks} == {"Warranty", "Warranty > Exclusions"}
    assert "Water damage." in text


def test_pdf_pages_become_chunks_with_page_numbers(tmp_path: Path) -> None:
    pdf = tmp_path / "manual.pdf"
    pdf.write_bytes(
        make_pdf(["The pump needs service every year.", "Filters last six months."], title="Pump")
    )
    doc = parse_file(pdf)
    chunks = chunk_document(doc)
    assert doc.title == "Pump"
    assert [(c.page, c.text) for c in chunks] == [
        (1, "The pump needs service every year."),
        (2, "Filters last six months."),
    ]


@pytest.mark.parametrize(
    ("name", "content", "message"),
    [
        ("empty.txt", b"", "is empty"),
        ("image.md", b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR", "looks binary"),
        ("latin.txt", "caf\xe9 cr\xe8me".encode("latin-1"), "not UTF-8"),
        ("broken.pdf", b"%PDF-1.4 this is not really a pdf", "not a readable PDF"),
    ],
)
def test_unreadable_files_are_rejected_with_the_reason(
    tmp_path: Path, name: str, content: bytes, message: str
) -> None:
    path = tmp_path / name
    path.write_bytes(content)
    with pytest.raises(DocumentRejected, match=message) as info:
        parse_file(path)
    assert str(path) in str(info.value)


def test_huge_files_are_rejected_before_reading(tmp_path: Path) -> None:
    path = tmp_path / "huge.txt"
    with path.open("wb") as fh:
        fh.truncate(3 * 1024 * 1024)
    with pytest.raises(DocumentRejected, match=r"3\.1 MB, over the 2 MB limit"):
        parse_file(path, max_bytes=2 * 1024 * 1024)


def test_unsupported_or_missing_paths_are_errors(tmp_path: Path) -> None:
    (tmp_path / "data.xlsx").write_bytes(b"PK")
    with pytest.raises(DocumentRejected, match="not a document Podium can read"):
        iter_documents([tmp_path / "data.xlsx"])
    with pytest.raises(DocumentRejected, match="does not exist"):
        iter_documents([tmp_path / "nowhere"])
    # In a folder, files of other kinds are simply not documents.
    (tmp_path / "a.md").write_text("hello")
    assert iter_documents([tmp_path]) == [tmp_path / "a.md"]
