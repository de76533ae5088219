"""Documents the retrieval expert reads: parsing files and cutting them into chunks.

Parsing turns a file into *sections* — a heading path, a page number and the text under
them — with a kept parser per format: plain text and Markdown by their headings, HTML with
BeautifulSoup (``h1``-``h6`` start sections; scripts, styles and navigation are dropped), PDF
with pypdf (one section per page). Bad files fail with :class:`DocumentRejected`: an empty
file, a binary file, a file over ``max_bytes``, a PDF that cannot be read.

Chunking cuts each section at paragraph, then sentence, boundaries into pieces of at most
``max_chars``; consecutive chunks of a section share their last sentences (``overlap``
characters at most), so an answer that straddles a cut is still found whole in one chunk.
Every chunk keeps its source, heading path and page.
"""

from __future__ import annotations

import hashlib
import re
from dataclasses import dataclass, field
from pathlib import Path

from podium.errors import InputRejected

TEXT_SUFFIXES = {".md", ".markdown", ".txt", ".rst"}
HTML_SUFFIXES = {".html", ".htm", ".xhtml"}
PDF_SUFFIXES = {".pdf"}
SUPPORTED_SUFFIXES = TEXT_SUFFIXES | HTML_SUFFIXES | PDF_SUFFIXES
MAX_BYTES = 50 * 1024 * 1024

_HEADING = re.compile(r"^(#{1,6})\s+(.*)$")
_SENTENCE_END = re.compile(r"(?<=[.!?])\s+(?=[\"'(\[]?[A-Z0-9])")


class DocumentRejected(InputRejected):
    """A file cannot be ingested (empty, binary, too large, unreadable)."""


@dataclass
class Section:
    text: str
    heading: str = ""
    page: int | None = None


@dataclass
class ParsedDocument:
    source: str
    title: str
    sections: list[Section]
    content_hash: str
    kind: str


@dataclass
class Chunk:
    text: str
    source: str
    title: str = ""
    page: int | None = None
    metadata: dict[str, str] = field(default_factory=dict)

    @property
    def id(self) -> str:
        return hashlib.sha1(f"{self.source}\0{self.text}".encode()).hexdigest()[:16]

    @property
    def content_hash(self) -> str:
        return text_hash(self.text)


def text_hash(text: str) -> str:
    return hashlib.sha256(" ".join(text.split()).encode()).hexdigest()


def iter_text_files(paths: list[Path], suffixes: set[str] | None = None) -> list[Path]:
    """The files under ``paths`` (files or folders) with a supported suffix, sorted."""
    suffixes = suffixes or TEXT_SUFFIXES
    files: list[Path] = []
    for p in paths:
        if p.is_file() and p.suffix.lower() in suffixes:
            files.append(p)
        elif p.is_dir():
            files.extend(
                sorted(f for f in p.rglob("*") if f.is_file() and f.suffix.lower() in suffixes)
            )
    return files


def iter_documents(paths: list[Path]) -> list[Path]:
    """Every file ``podium ingest`` would read under ``paths``; a missing path is an error."""
    for p in paths:
        if not p.exists():
            raise DocumentRejected(f"{p} does not exist", hint="check the path")
        if p.is_file() and p.suffix.lower() not in SUPPORTED_SUFFIXES:
            raise DocumentRejected(
                f"{p} is a {p.suffix or 'suffix-less'} file: not a document Podium can read",
                hint=f"supported: {', '.join(sorted(SUPPORTED_SUFFIXES))}",
            )
    return iter_text_files(paths, SUPPORTED_SUFFIXES)


# -- parsing ------------------------------------------------------------------------------


def parse_file(
    path: Path, *, max_bytes: int = MAX_BYTES, source: str | None = None
) -> ParsedDocument:
    """Read one file into sections; raise :class:`DocumentRejected` for what cannot be read."""
    source = source or str(path)
    size = path.stat().st_size
    if size == 0:
        raise DocumentRejected(f"{path} is empty", hint="remove it or add text to it")
    if size > max_bytes:
        raise DocumentRejected(
            f"{path} is {size / 1e6:.1f} MB, over the {max_bytes / 1e6:.0f} MB limit",
            hint="split it into smaller files, or raise max_bytes",
        )
    data = path.read_bytes()
    digest = hashlib.sha256(data).hexdigest()
    suffix = path.suffix.lower()
    if suffix in PDF_SUFFIXES:
        (title, sections), kind = _parse_pdf(path, data), "pdf"
    else:
        text = _decode(path, data)
        if suffix in HTML_SUFFIXES:
            title, sections, kind = *parse_html(text), "html"
        else:
            title, sections, kind = "", parse_markdown(text), "text"
    sections = [s for s in sections if s.text.strip()]
    if not sections:
        raise DocumentRejected(f"{path} has no text to index", hint="is it a scanned image?")
    return ParsedDocument(
        source=source,
        title=title or _first_heading(sections) or path.stem,
        sections=sections,
        content_hash=digest,
        kind=kind,
    )


def _decode(path: Path, data: bytes) -> str:
    if b"\0" in data[:8192]:
        raise DocumentRejected(
            f"{path} looks binary (it has NUL bytes), not text",
            hint="ingest text, Markdown, HTML or PDF files",
        )
    try:
        return data.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        raise DocumentRejected(
            f"{path} is not UTF-8 text (bad byte at offset {exc.start})",
            hint="convert it to UTF-8 first, e.g. iconv -t utf-8",
        ) from None


def _first_heading(sections: list[Section]) -> str:
    return next((s.heading.split(" > ")[0] for s in sections if s.heading), "")


def parse_markdown(text: str) -> list[Section]:
    """Sections under Markdown headings (plain text is one section with no heading)."""
    sections: list[Section] = []
    headings: list[str] = []
    buffer: list[str] = []
    in_code = False

    def flush() -> None:
        body = "\n".join(buffer).strip()
        buffer.clear()
        if body:
            sections.append(Section(text=body, heading=" > ".join(headings)))

    for line in text.splitlines():
        if line.lstrip().startswith("```"):
            in_code = not in_code
        m = None if in_code else _HEADING.match(line)
        if m:
            flush()
            level = len(m.group(1))
            headings[:] = [*headings[: level - 1], m.group(2).strip().strip("#").strip()]
        else:
            buffer.append(line)
    flush()
    return sections


def parse_html(html: str) -> tuple[str, list[Section]]:
    """The page title and one section per heading, from the visible text only."""
    from bs4 import BeautifulSoup

    soup = BeautifulSoup(html, "html.parser")
    title = soup.title.get_text(" ", strip=True) if soup.title else ""
    for tag in soup(["script", "style", "noscript", "nav", "header", "footer", "template"]):
        tag.decompose()
    body = soup.body or soup
    sections: list[Section] = []
    headings: list[str] = []
    paragraphs: list[str] = []
    blocks = ["h1", "h2", "h3", "h4", "h5", "h6", "p", "li", "pre", "td", "th", "blockquote"]

    def flush() -> None:
        if paragraphs:
            sections.append(Section(text="\n\n".join(paragraphs), heading=" > ".join(headings)))
            paragraphs.clear()

    for el in body.find_all(blocks):
        if el.find_parent(blocks) is not None and el.name not in ("li",):
            continue  # nested block: its text is part of the parent's
        text = el.get_text(" ", strip=True)
        if not text:
            continue
        if el.name and el.name[0] == "h" and el.name[1:].isdigit():
            flush()
            level = int(el.name[1:])
            headings[:] = [*headings[: level - 1], text]
        else:
            paragraphs.append(text)
    flush()
    if not sections:  # no block elements: fall back to all visible text
        text = body.get_text("\n", strip=True)
        if text:
            sections.append(Section(text=text))
    return title, sections


# A PDF is a program: a few KB can name one page thousands of times, each drawing a stream
# that inflates to megabytes (a red-team PDF of 9.5 KB ran for minutes). These bound it.
PDF_MAX_PAGES = 1000
PDF_MAX_STREAM_BYTES = 5_000_000  # decompressed, per stream
PDF_MAX_STREAM_OPERATIONS = 300_000  # operands and operators parsed, per content stream
PDF_MAX_TEXT_CHARS = 5_000_000  # extracted, per document
PDF_MAX_SECONDS = 20.0


def _parse_pdf(path: Path, data: bytes) -> tuple[str, list[Section]]:
    import io
    import time

    from pypdf import PdfReader, apply_configuration
    from pypdf.errors import LimitReachedError, PyPdfError

    limits = {
        "maximum_declared_stream_length": PDF_MAX_STREAM_BYTES,
        "array_based_stream_maximum_output_length": PDF_MAX_STREAM_BYTES,
        "zlib_maximum_output_length": PDF_MAX_STREAM_BYTES,
        "lzw_maximum_output_length": PDF_MAX_STREAM_BYTES,
        "run_length_maximum_output_length": PDF_MAX_STREAM_BYTES,
        "brotli_maximum_output_length": PDF_MAX_STREAM_BYTES,
        "stream_decoding_work_maximum_length": 4 * PDF_MAX_STREAM_BYTES,
        "page_tree_maximum_page_entries": 50 * PDF_MAX_PAGES,
        "stream_parsing_work_maximum_count": PDF_MAX_STREAM_OPERATIONS,
    }

    def refuse(why: str) -> DocumentRejected:
        return DocumentRejected(
            f"{path} is too costly to read as a PDF: {why}",
            hint="split it, or convert it to text (pdftotext) and add the text file",
        )

    deadline = time.monotonic() + PDF_MAX_SECONDS
    try:
        with apply_configuration(None, **limits):
            reader = PdfReader(io.BytesIO(data))
            info = reader.metadata
            title = str(info.get("/Title") or "") if info is not None else ""
            if len(reader.pages) > PDF_MAX_PAGES:
                raise refuse(f"{len(reader.pages):,} pages, over the limit of {PDF_MAX_PAGES:,}")
            pages, chars = [], 0
            for i, page in enumerate(reader.pages):
                text = page.extract_text() or ""
                chars += len(text)
                if chars > PDF_MAX_TEXT_CHARS:
                    raise refuse(f"over {PDF_MAX_TEXT_CHARS:,} characters of text")
                if time.monotonic() > deadline:
                    raise refuse(f"still reading page {i + 1} after {PDF_MAX_SECONDS:g} s")
                pages.append(Section(text=text, page=i + 1))
    except DocumentRejected:
        raise
    except LimitReachedError as exc:
        raise refuse(str(exc).rstrip("!")) from None
    except (PyPdfError, ValueError, KeyError, OSError, RecursionError) as exc:
        raise DocumentRejected(
            f"{path} is not a readable PDF: {exc}", hint="re-export it, or convert it to text"
        ) from None
    return title, pages


# -- chunking -----------------------------------------------------------------------------


def chunk_document(doc: ParsedDocument, max_chars: int = 800, overlap: int = 150) -> list[Chunk]:
    """Chunks of every section; identical chunks within the document are kept once."""
    chunks: list[Chunk] = []
    seen: set[str] = set()
    for section in doc.sections:
        for piece in split_text(section.text, max_chars, overlap):
            digest = text_hash(piece)
            if digest in seen:
                continue
            seen.add(digest)
            chunks.append(
                Chunk(text=piece, source=doc.source, title=section.heading, page=section.page)
            )
    return chunks


def split_text(body: str, max_chars: int = 800, overlap: int = 150) -> list[str]:
    """Pack sentences into pieces of at most ``max_chars``, never cutting a sentence unless
    it alone is longer; each piece starts with the last sentences (up to ``overlap``
    characters) of the one before, within the same section."""
    sentences: list[str] = []
    for para in re.split(r"\n\s*\n", body):
        para = " ".join(para.split())
        if not para:
            continue
        for sentence in _SENTENCE_END.split(para):
            while len(sentence) > max_chars:  # one huge "sentence": cut at a space
                cut = sentence.rfind(" ", 0, max_chars)
                cut = cut if cut > max_chars // 2 else max_chars
                sentences.append(sentence[:cut])
                sentence = sentence[cut:].lstrip()
            if sentence:
                sentences.append(sentence)
    pieces: list[str] = []
    current: list[str] = []
    fresh = 0  # sentences in `current` that are not overlap
    for sentence in sentences:
        if current and len(" ".join([*current, sentence])) > max_chars:
            if fresh:
                pieces.append(" ".join(current))
            carry: list[str] = []
            for prev in reversed(current):
                if len(" ".join([prev, *carry, sentence])) > min(
                    overlap + len(sentence), max_chars
                ):
                    break
                carry.insert(0, prev)
            current, fresh = carry, 0
        current.append(sentence)
        fresh += 1
    if current and fresh:
        pieces.append(" ".join(current))
    return pieces


def sentences(text: str) -> list[str]:
    """The sentences of a chunk, cut where :func:`split_text` cuts them (a chunk's text is its
    sentences joined by spaces, so this gives them back)."""
    return [s for s in _SENTENCE_END.split(" ".join(text.split())) if s]


def chunk_markdown(text: str, source: str, max_chars: int = 600) -> list[Chunk]:
    """Chunks of a Markdown text (no overlap): the retrieval expert's routing hints use it."""
    doc = ParsedDocument(source, "", parse_markdown(text), text_hash(text), "text")
    return chunk_document(doc, max_chars=max_chars, overlap=0)


def load_chunks(paths: list[Path], max_chars: int = 600) -> list[Chunk]:
    chunks: list[Chunk] = []
    for f in iter_text_files(paths):
        text = f.read_text(encoding="utf-8", errors="replace")
        chunks.extend(chunk_markdown(text, source=f.name, max_chars=max_chars))
    return chunks
