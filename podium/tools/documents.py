"""Documents the retrieval expert reads: loading text/Markdown files and chunking them.

Chunks follow the document's own structure: a Markdown heading starts a new section, and a
section is cut at paragraph, then sentence, boundaries into pieces of at most ``max_chars``.
Every chunk keeps its source file and the heading path above it.
"""

from __future__ import annotations

import hashlib
import re
from dataclasses import dataclass, field
from pathlib import Path

TEXT_SUFFIXES = {".md", ".markdown", ".txt", ".rst"}
_HEADING = re.compile(r"^(#{1,6})\s+(.*)$")
_SENTENCE_END = re.compile(r"(?<=[.!?])\s+")


@dataclass
class Chunk:
    text: str
    source: str
    title: str = ""
    metadata: dict[str, str] = field(default_factory=dict)

    @property
    def id(self) -> str:
        return hashlib.sha1(f"{self.source}\0{self.text}".encode()).hexdigest()[:16]


def iter_text_files(paths: list[Path]) -> list[Path]:
    files: list[Path] = []
    for p in paths:
        if p.is_file() and p.suffix.lower() in TEXT_SUFFIXES:
            files.append(p)
        elif p.is_dir():
            files.extend(sorted(f for f in p.rglob("*") if f.suffix.lower() in TEXT_SUFFIXES))
    return files


def chunk_markdown(text: str, source: str, max_chars: int = 600) -> list[Chunk]:
    chunks: list[Chunk] = []
    headings: list[str] = []
    buffer: list[str] = []

    def flush() -> None:
        body = "\n".join(buffer).strip()
        buffer.clear()
        if not body:
            return
        title = " > ".join(headings)
        for piece in _split(body, max_chars):
            chunks.append(Chunk(text=piece, source=source, title=title))

    for line in text.splitlines():
        m = _HEADING.match(line)
        if m:
            flush()
            level = len(m.group(1))
            headings[:] = [*headings[: level - 1], m.group(2).strip()]
        else:
            buffer.append(line)
    flush()
    return chunks


def _split(body: str, max_chars: int) -> list[str]:
    paragraphs = [" ".join(p.split()) for p in re.split(r"\n\s*\n", body) if p.strip()]
    out: list[str] = []
    current = ""
    for para in paragraphs:
        pieces = [para] if len(para) <= max_chars else _SENTENCE_END.split(para)
        for piece in pieces:
            if current and len(current) + 1 + len(piece) > max_chars:
                out.append(current)
                current = piece
            else:
                current = f"{current} {piece}".strip()
    if current:
        out.append(current)
    return out


def load_chunks(paths: list[Path], max_chars: int = 600) -> list[Chunk]:
    chunks: list[Chunk] = []
    for f in iter_text_files(paths):
        text = f.read_text(encoding="utf-8", errors="replace")
        chunks.extend(chunk_markdown(text, source=f.name, max_chars=max_chars))
    return chunks
