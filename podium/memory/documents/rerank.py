"""Reranking the top documents with a generative model of the ladder (the 1.5B by default).

Pointwise: one short prompt per (query, passage) pair asks whether the passage is relevant
evidence for the query, and the pair is scored by the model's next-token preference for "yes"
over "no". The query comes before the passage so that llama.cpp keeps the prompt's common
prefix (instructions and query) in its cache and only evaluates each passage's own tokens.

On a local llama.cpp model (:class:`~podium.models.local_llama.ChatLlamaCpp`) the score is the
log-odds ``logit(yes) − logit(no)`` read off one forward pass, no token generated. Any other
chat model (a hosted one, or a scripted model in tests) is asked the same question and its
answer read: ``yes`` scores 1, ``no`` 0, anything else 0.5 (the pair keeps its first-stage
order among equals).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from podium.models.llama_logits import chatml, loaded_llama, logsumexp, next_token_logits

from .search import Hit
from .sync import passage

SYSTEM = "You judge whether a passage is relevant evidence for a query. Answer yes or no."
# Passages are cut to this many characters (the prompt stays short; SciFact abstracts are long).
MAX_PASSAGE_CHARS = 700


def prompt_messages(query: str, text: str) -> list[dict[str, str]]:
    """The chat messages for one pair: the query first (a shared prefix), the passage after."""
    return [
        {"role": "system", "content": SYSTEM},
        {
            "role": "user",
            "content": f"Query: {query}\n\nIs the passage below relevant evidence for the "
            f"query? Answer yes or no.\n\nPassage: {text[:MAX_PASSAGE_CHARS]}",
        },
    ]


class LadderReranker:
    """Scores (query, passage) pairs with a chat model and reorders hits by that score.

    ``model`` is a LangChain chat model (for the ladder: ``ModelProvider().base_chat(role=
    "large")``). ``blend`` mixes the first-stage order back in: the final score is the model's
    score plus ``blend / (rank + 1)``, a tie-breaker that keeps the retriever's order among
    passages the model scores alike."""

    def __init__(self, model: Any, *, blend: float = 0.0) -> None:
        self.model = model
        self.blend = blend
        self._tokens: dict[str, list[int]] = {}
        # What the model has been asked so far (an expert reports it as the call's cost).
        self.pairs = 0
        self.input_tokens = 0

    def scores(self, query: str, texts: Sequence[str]) -> list[float]:
        """One relevance score per passage, higher = more relevant."""
        llama = loaded_llama(self.model)
        self.pairs += len(texts)
        if llama is not None:
            return [self._logit_score(llama, query, t) for t in texts]
        return [self._answer_score(query, t) for t in texts]

    def rerank(self, query: str, hits: list[Hit]) -> list[Hit]:
        """``hits`` (best first) reordered by the model; each keeps its first-stage score in
        ``scores["first_stage"]`` and gets the model's as ``scores["rerank"]``."""
        if not hits:
            return []
        judged = self.scores(query, [passage(h.title, h.text) for h in hits])
        out = []
        for rank, (hit, value) in enumerate(zip(hits, judged, strict=True)):
            hit.scores = {**hit.scores, "first_stage": hit.score, "rerank": value}
            hit.score = value + self.blend / (rank + 1)
            out.append((hit.score, -rank, hit))
        out.sort(key=lambda item: (item[0], item[1]), reverse=True)
        return [hit for _, _, hit in out]

    # -- llama.cpp: yes/no log-odds from the next-token logits ----------------------------

    def _logit_score(self, loaded: Any, query: str, text: str) -> float:
        # The instructions and the query are shared by every passage of one query: only each
        # passage's own tokens are evaluated.
        logits, evaluated = next_token_logits(loaded, chatml(prompt_messages(query, text)))
        self.input_tokens += evaluated
        yes, no = self._answer_tokens(loaded.llama)
        return float(logsumexp(logits[yes]) - logsumexp(logits[no]))

    def _answer_tokens(self, llama: Any) -> tuple[list[int], list[int]]:
        if not self._tokens:
            for word in ("yes", "no"):
                ids = set()
                for variant in (word, word.capitalize(), " " + word, " " + word.capitalize()):
                    toks = llama.tokenize(variant.encode(), add_bos=False, special=False)
                    if len(toks) == 1:
                        ids.add(toks[0])
                self._tokens[word] = sorted(ids)
        return self._tokens["yes"], self._tokens["no"]

    # -- any other chat model: read its answer --------------------------------------------

    def _answer_score(self, query: str, text: str) -> float:
        from langchain_core.messages import HumanMessage, SystemMessage

        messages = prompt_messages(query, text)
        reply = self.model.invoke(
            [SystemMessage(messages[0]["content"]), HumanMessage(messages[1]["content"])]
        )
        words = str(getattr(reply, "content", reply)).strip().lower().split()
        first = words[0].strip(".,!:;\"'") if words else ""
        return 1.0 if first == "yes" else 0.0 if first == "no" else 0.5
