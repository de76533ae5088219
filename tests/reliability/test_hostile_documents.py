"""A PDF is a program: a few kilobytes can ask for minutes of CPU. Ingestion bounds it.

The red-team PDF (6.9 KB) cost 11 s of CPU and 202 MB through ``podium ingest``; the one built
here (under 10 KB: one page named a thousand times, its content stream inflating to 2 MB of
drawing operations) ran for over five minutes before the limits.
"""

from __future__ import annotations

import time
import zlib
from pathlib import Path

import pytest

from podium.tools.documents import DocumentRejected, parse_file


def tiny_pdf(pages: int, inflated: int) -> bytes:
    """A hand-written PDF whose page tree names one page ``pages`` times; that page draws a
    FlateDecode stream of about ``inflated`` bytes of text operations."""
    content = b"BT /F1 12 Tf 72 712 Td " + b"(A) Tj " * (inflated // 7) + b"ET"
    stream = zlib.compress(content, 9)
    objects = [
        b"<< /Type /Catalog /Pages 2 0 R >>",
        b"<< /Type /Pages /Kids [" + b"3 0 R " * pages + b"] /Count %d >>" % pages,
        b"<< /Type /Page /Parent 2 0 R /MediaBox [0 0 612 792] /Contents 4 0 R "
        b"/Resources << /Font << /F1 5 0 R >> >> >>",
        b"<< /Length %d /Filter /FlateDecode >>\nstream\n" % len(stream) + stream + b"\nendstream",
        b"<< /Type /Font /Subtype /Type1 /BaseFont /Helvetica >>",
    ]
    out = bytearray(b"%PDF-1.4\n")
    offsets = []
    for number, body in enumerate(objects, 1):
        offsets.append(len(out))
        out += b"%d 0 obj\n" % number + body + b"\nendobj\n"
    xref = len(out)
    out += b"xref\n0 %d\n0000000000 65535 f \n" % (len(objects) + 1)
    out += b"".join(b"%010d 00000 n \n" % o for o in offsets)
    out += b"trailer\n<< /Size %d /Root 1 0 R >>\nstartxref\n%d\n%%%%EOF\n" % (
        len(objects) + 1,
        xref,
    )
    return bytes(out)


def test_a_small_pdf_that_inflates_to_minutes_of_work_is_refused_quickly(tmp_path: Path) -> None:
    bomb = tmp_path / "bomb.pdf"
    bomb.write_bytes(tiny_pdf(pages=1000, inflated=2_000_000))
    assert bomb.stat().st_size < 10_000
    start = time.monotonic()
    with pytest.raises(DocumentRejected, match="too costly to read as a PDF") as info:
        parse_file(bomb)
    assert time.monotonic() - start < 25  # 20 s deadline at most; ~1-4 s in practice
    assert "pdftotext" in (info.value.hint or "")


def test_a_pdf_with_too_many_pages_is_refused_before_reading_them(tmp_path: Path) -> None:
    many = tmp_path / "many.pdf"
    many.write_bytes(tiny_pdf(pages=5000, inflated=100))
    with pytest.raises(DocumentRejected, match="5,000 pages, over the limit of 1,000"):
        parse_file(many)


def test_an_ordinary_pdf_still_reads_page_by_page(tmp_path: Path) -> None:
    ok = tmp_path / "ok.pdf"
    ok.write_bytes(tiny_pdf(pages=3, inflated=300))
    doc = parse_file(ok)
    assert [s.page for s in doc.sections] == [1, 2, 3]
    assert doc.sections[0].text.startswith("AAAA")
