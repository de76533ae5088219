"""The retrieval expert: the passages of the workspace's documents that answer a question.

Search is hybrid — MiniLM embeddings in FAISS and BM25 (bm25s) fused by reciprocal rank — over
the workspace's document store (:mod:`podium.memory.documents`): the documents configured in
``podium.toml`` are ingested incrementally before each search (unchanged files cost one
``stat``), and anything added with ``podium ingest`` is searched too.

Results are ranked by document: the answer lists the best passage of each of the top documents,
so a long document cut into many chunks does not crowd out the other sources. ``per="chunk"``
asks for the top passages instead (several may come from one document).

Confidence is calibrated: the probability that the top passage is relevant, from a logistic
regression over the search's scores fitted on the dev half of the Climate-FEVER retrieval
slice (``podium train retrieval``; see :mod:`.calibration` and BENCHMARKS.md). A top passage
none of whose sentences comes near the question is relevant at best, not an answer, and its
confidence is scaled down (:data:`ANSWERING_SENTENCE`).
"""

from __future__ import annotations

import threading
from dataclasses import dataclass, field
from typing import Any, Literal

from pydantic import BaseModel, Field

from podium.errors import ConfigError
from podium.experts.base import Cost, Evidence, Expert, ExpertContext, ExpertResult
from podium.tools.documents import load_chunks, sentences

# A passage answers a question with one of its sentences. When no sentence of the top
# document's passages reaches this cosine similarity (MiniLM) to the question, the passage is
# about something nearby, not the answer: on the demo, "Who is the CEO of the shop?" found the
# about page (0.31; it names no one) and "Who is our best customer in Germany?" the loyalty
# page (0.31), both with calibrated confidence above the answer floor, so they were quoted as
# answers. Of 26 demo questions the documents answer, the lowest best sentence was 0.35 ("When
# was the shop founded?"); of 24 they do not answer, 13 were below 0.33. The calibrator cannot
# see this: it was fitted on Climate-FEVER, whose claims are never this far from every
# passage (top cosine 0.4 or more on every query), so its scores say "relevant", not "answers".
ANSWERING_SENTENCE = 0.33
# How often such a passage answered: none of the 13 (add-one smoothing: 1 / 15).
NO_ANSWERING_SENTENCE = 1 / 15
# The ``auto`` expansion policy asks the large model for a passage only when the plain
# search's calibrated confidence is below this. Expanding every query of the Climate-FEVER
# slice gained ~0.005 nDCG@10, within noise; the gain sits in the queries the search is unsure
# of. Chosen on the dev half over thresholds at each tenth of its queries
# (benchmarks/retrieval_expand.py; BENCHMARKS.md has both halves).
EXPAND_BELOW = 0.47


def answering_sentence(embedder: Any, question: str, hit: Any) -> float:
    """The best cosine between the question and a sentence of the hit's passage or of its
    document's next best passages (the ones an answer is quoted from)."""
    texts = [hit.text, *(text for _, text in hit.more)]
    candidates = [s for text in texts for s in sentences(text) if len(s.split()) >= 3]
    if not candidates:
        return 1.0  # nothing to judge by: the calibrated confidence stands
    return max(embedder.similarity_to(question, candidates))


class RetrievalRequest(BaseModel):
    query: str = Field(min_length=1, description="What to look for, in words.")
    k: int = Field(default=3, ge=1, le=50, description="How many passages to return.")
    source: str | None = Field(
        default=None, description="Only documents whose source matches this glob, e.g. *.pdf."
    )
    per: Literal["document", "chunk"] = Field(
        default="document",
        description="document: the best passage of each of the top documents (different "
        "sources); chunk: the top passages, several may come from the same document.",
    )
    rerank: Literal["none", "large"] | None = Field(
        default=None,
        description="large: the large model reads the top 20 results and reorders them "
        "(one model pass per document: seconds each on a CPU, counted as one large-model "
        "call); none: the hybrid order. Unset: the expert's default (none).",
    )
    expand: Literal["none", "large", "auto"] | None = Field(
        default=None,
        description="large: the large model writes a short passage answering the query and "
        "the search reads it beside the query (one large-model call, seconds on a CPU); auto: "
        "only when the plain search is unsure of its top passage; none: the query alone. "
        "Unset: the expert's default (none).",
    )


class RetrievalExpert(Expert):
    name = "retrieval"
    needs = "documents"  # the planner is offered this expert only where the workspace has one
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

    def __init__(
        self,
        embeddings: str | None = None,
        mode: str = "hybrid",
        rerank: Literal["none", "large"] = "none",
        rerank_depth: int | None = None,
        expand: Literal["none", "large", "auto"] | None = None,
    ) -> None:
        self.embeddings = embeddings
        self.mode = mode
        self.rerank = rerank
        self.rerank_depth = rerank_depth
        self.expand = expand
        self._calibrator: Any = None
        self._lock = threading.Lock()

    def routing_hints(self, workspace: Any) -> list[str]:
        hints = [d.description for d in workspace.config.documents if d.description]
        for chunk in load_chunks(workspace.document_paths()):
            if chunk.title:
                hints.append(chunk.title)
        return sorted(set(hints))

    def store(self, workspace: Any, models: Any = None) -> Any:
        """The workspace's document store, with its configured documents ingested."""
        from podium.memory.documents import for_workspace

        embeddings = self.embeddings or (models.roles.get("embeddings") if models else None)
        store = for_workspace(
            workspace, embeddings=embeddings if isinstance(embeddings, str) else None
        )
        paths = [p for p in workspace.document_paths() if p.exists()]
        if paths:
            store.ingest(paths)
        return store

    def run(self, request: BaseModel, ctx: ExpertContext) -> ExpertResult:
        assert isinstance(request, RetrievalRequest)
        if ctx.workspace is None:
            raise ConfigError("retrieval needs a workspace with documents")
        store = self.store(ctx.workspace, ctx.models)
        where = {"source": request.source} if request.source else None
        reranker = self._reranker(request, ctx)
        # The calibrator reads the top 10 (e.g. the top hit's margin over the others); it is
        # fitted on the plain hybrid's own order, so it reads that order even when a model
        # reranks or expands the query. Read off an expanded search, it overstated (on the
        # Climate-FEVER queries auto expands: 0.40 said against 0.27 right, AUROC 0.64), while
        # the plain search's confidence held for the expanded top passage (0.25 against 0.27,
        # AUROC 0.69; benchmarks/retrieval_expand.py).
        ranked = plain = store.search(
            request.query, k=max(request.k, 10), mode=self.mode, where=where, per=request.per
        )
        expansion = self._expansion(request, ctx, ranked)
        if expansion.text:
            ranked = store.search(
                request.query,
                k=max(request.k, 10),
                mode=self.mode,
                where=where,
                per=request.per,
                expansion=expansion.text,
            )
        hits = ranked[: request.k]
        if reranker is not None and ranked:
            hits = store.search(
                request.query,
                k=request.k,
                mode=self.mode,
                where=where,
                per=request.per,
                reranker=reranker,
                expansion=expansion.text or None,
                **({"rerank_depth": self.rerank_depth} if self.rerank_depth else {}),
            )
        if not hits:
            if not store.sources():
                raise ConfigError(
                    "the workspace has no documents to search",
                    hint="add a documents folder to podium.toml or run: podium ingest PATH",
                )
            return ExpertResult(
                output=[],
                summary="no passage matches",
                confidence=0.0,
                cost=Cost(model=store.embeddings),
            )
        cost = Cost(model=store.embeddings) + expansion.cost
        if reranker is not None:
            cost = cost + Cost(
                model=ctx.models.label(role="large") if ctx.models else "large",
                input_tokens=reranker.input_tokens,
                large_calls=1,
            )
        passages = [
            {
                "text": h.text,
                "source": h.source,
                "title": h.title,
                "page": h.page,
                "score": round(h.score, 4),
                # the document's next best passages, for an answer quoted from its best
                # sentences wherever they are (orchestrator/quotes.py)
                **({"more": [{"title": t, "text": x} for t, x in h.more]} if h.more else {}),
            }
            for h in hits
        ]
        top = passages[0]
        confidence = self._confidence(plain[: request.k])
        nearest = answering_sentence(store.embedder, request.query, hits[0])
        if nearest < ANSWERING_SENTENCE:
            confidence *= NO_ANSWERING_SENTENCE
        return ExpertResult(
            output=passages,
            summary=f"({_short(top['source'])}: {top['title']}) {top['text']}",
            confidence=round(confidence, 4),
            cost=cost,
            evidence=[
                Evidence(
                    kind="passage",
                    text=h.text,
                    source=h.source,
                    score=round(h.score, 4),
                    metadata={"title": h.title, "page": h.page, "chunk_id": h.chunk_id, **h.scores},
                )
                for h in hits
            ],
            details={
                "mode": self.mode,
                "per": request.per,
                "reranked_by": "large" if reranker is not None else None,
                **expansion.details(),
                "ranks": [h.ranks for h in hits],
                "matched_chunks": [h.matched_chunks for h in hits],
                "answering_sentence": round(nearest, 3),
            },
        )

    def _reranker(self, request: RetrievalRequest, ctx: ExpertContext) -> Any:
        """A reranker on the large role's model when the request (or, unset, the expert) asks
        for one, else None."""
        if (request.rerank or self.rerank) != "large":
            return None
        from podium.memory.documents import LadderReranker
        from podium.models.provider import ModelProvider

        models = ctx.models or ModelProvider()
        return LadderReranker(models.chat(role="large"))

    def _expansion(
        self, request: RetrievalRequest, ctx: ExpertContext, ranked: list[Any]
    ) -> Expansion:
        """The large model's passage for the query when the request asks for one (unset: the
        expert's own policy; unset too: the workspace's ``models.expand_queries``) — under
        ``auto`` only when the plain search's calibrated confidence is below
        ``EXPAND_BELOW`` — else an empty :class:`Expansion` that says why not."""
        config = getattr(ctx.workspace, "config", None)
        models_spec = getattr(config, "models", None)
        setting: str = getattr(models_spec, "expand_queries", "none")
        policy: str = request.expand or self.expand or setting
        if policy == "none" or not ranked:
            return Expansion(policy)
        plain = self._confidence(ranked)
        if policy == "auto" and (self.mode != "hybrid" or plain >= EXPAND_BELOW):
            return Expansion(policy, plain_confidence=plain)
        limits = getattr(config, "limits", None)
        if limits is not None and limits.max_large_calls == 0:
            return Expansion(policy, plain, skipped="the workspace allows no large-model calls")
        from podium.memory.documents import QueryExpander
        from podium.models.provider import ModelProvider

        models = ctx.models or ModelProvider()
        expander = QueryExpander(models.chat(role="large"))
        try:
            text = expander.expand(request.query)
        except Exception as exc:  # any failure: the plain search still answers
            return Expansion(policy, plain, skipped=f"the large model failed: {exc}"[:300])
        cost = Cost(
            model=models.label(role="large"),
            input_tokens=expander.input_tokens,
            output_tokens=expander.output_tokens,
            large_calls=expander.calls,
        )
        return Expansion(policy, plain, text=text, cost=cost)

    def _confidence(self, ranked: list[Any]) -> float:
        if self.mode == "hybrid":
            return round(self.calibrator.predict(ranked), 4)
        # Other modes have no calibrator: the top cosine (dense) is an ordering, not a probability.
        return max(0.0, min(1.0, ranked[0].scores.get("dense", 0.0)))

    @property
    def calibrator(self) -> Any:
        with self._lock:
            if self._calibrator is None:
                from .calibration import RetrievalCalibrator

                self._calibrator = RetrievalCalibrator.load()
            return self._calibrator


@dataclass
class Expansion:
    """What query expansion did for one request: the passage (empty: none), its cost, and
    the plain search's confidence that decided it."""

    policy: str
    plain_confidence: float | None = None
    text: str = ""
    cost: Cost = field(default_factory=Cost)
    skipped: str = ""

    def details(self) -> dict[str, Any]:
        if self.policy == "none":
            return {}
        out: dict[str, Any] = {"expand": self.policy, "expanded_with": self.text or None}
        if self.plain_confidence is not None:
            out["plain_confidence"] = round(self.plain_confidence, 4)
        if self.skipped:
            out["expansion_skipped"] = self.skipped
        return out


def _short(source: str) -> str:
    return source.rsplit("/", 1)[-1]
