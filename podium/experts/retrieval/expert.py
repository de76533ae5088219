"""The retrieval expert: finds the passages of the workspace's documents that answer a
question, by MiniLM embeddings in a FAISS inner-product index.

Confidence is the top passage's cosine similarity, clipped to [0, 1]: it orders results
sensibly but is not a calibrated probability.
"""

from __future__ import annotations

import threading
from typing import Any

import faiss
from pydantic import BaseModel, Field

from podium.errors import ConfigError
from podium.experts.base import Cost, Evidence, Expert, ExpertContext, ExpertResult
from podium.tools.documents import Chunk, iter_text_files, load_chunks


class RetrievalRequest(BaseModel):
    query: str = Field(min_length=1, description="What to look for, in words.")
    k: int = Field(default=3, ge=1, le=50, description="How many passages to return.")


class _Index:
    def __init__(self, chunks: list[Chunk], index: faiss.Index, stamp: tuple[Any, ...]) -> None:
        self.chunks, self.index, self.stamp = chunks, index, stamp


class RetrievalExpert(Expert):
    name = "retrieval"
    description = (
        "Finds passages in the workspace's documents (policies, manuals, notes, articles) that "
        "answer a question about what the documents say: rules, procedures, terms, facts."
    )
    input_model = RetrievalRequest
    examples = (
        "What is the return policy for damaged items?",
        "How long does delivery take?",
        "What does the warranty cover?",
    )

    def __init__(self, embeddings: str | None = None) -> None:
        self.embeddings = embeddings
        self._indexes: dict[str, _Index] = {}
        self._lock = threading.Lock()

    def routing_hints(self, workspace: Any) -> list[str]:
        hints = [d.description for d in workspace.config.documents if d.description]
        for chunk in load_chunks(workspace.document_paths()):
            if chunk.title:
                hints.append(chunk.title)
        return sorted(set(hints))

    def run(self, request: BaseModel, ctx: ExpertContext) -> ExpertResult:
        assert isinstance(request, RetrievalRequest)
        if ctx.workspace is None or ctx.models is None:
            raise ConfigError("retrieval needs a workspace with documents")
        paths = ctx.workspace.document_paths()
        if not iter_text_files(paths):
            raise ConfigError(
                "the workspace has no documents to search",
                hint="add a documents folder to podium.toml or run: podium ingest PATH",
            )
        embedder = ctx.models.embedder(self.embeddings)
        idx = self._index(paths, embedder)
        query = embedder.encode([request.query])
        scores, ids = idx.index.search(query, min(request.k, len(idx.chunks)))
        passages = [
            {
                "text": idx.chunks[i].text,
                "source": idx.chunks[i].source,
                "title": idx.chunks[i].title,
                "score": round(float(s), 4),
            }
            for s, i in zip(scores[0], ids[0], strict=True)
            if i >= 0
        ]
        top = passages[0]
        return ExpertResult(
            output=passages,
            summary=f"({top['source']}: {top['title']}) {top['text']}",
            confidence=max(0.0, min(1.0, top["score"])),
            cost=Cost(model=embedder.uri),
            evidence=[
                Evidence(
                    kind="passage",
                    text=p["text"],
                    source=p["source"],
                    score=p["score"],
                    metadata={"title": p["title"]},
                )
                for p in passages
            ],
        )

    def _index(self, paths: list[Any], embedder: Any) -> _Index:
        files = iter_text_files(paths)
        stamp = tuple((str(f), f.stat().st_mtime_ns, f.stat().st_size) for f in files)
        key = "|".join(str(p) for p in paths) + f"|{embedder.uri}"
        with self._lock:
            cached = self._indexes.get(key)
            if cached is None or cached.stamp != stamp:
                chunks = load_chunks(paths)
                vectors = embedder.encode([f"{c.title}: {c.text}" for c in chunks])
                index = faiss.IndexFlatIP(embedder.dim)
                index.add(vectors)
                cached = self._indexes[key] = _Index(chunks, index, stamp)
            return cached
