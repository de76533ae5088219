"""Query expansion with a generative model of the ladder (the 1.5B by default).

The model writes a short passage of the kind the documents hold that would answer the query
(HyDE, Gao et al. 2022; query2doc, Wang et al. 2023), and the search reads it beside the
query (:meth:`~.search.DocumentSearch.search`'s ``expansion``). A claim worded unlike its
evidence ("polar bears are dying out" against "... the extinction or relocation of many
species ...") gains the words and the meaning it lacked.

Measured on the Climate-FEVER slice (benchmarks/retrieval_expand.py): expanding every query
gains little (the model's passage also adds its own errors where the search was already
right), while expanding only the queries whose plain search has a low calibrated confidence
gains about 0.01 nDCG@10 on both halves. That is the ``auto`` policy of the retrieval expert.
"""

from __future__ import annotations

from typing import Any

from langchain_core.messages import HumanMessage, SystemMessage

SYSTEM = "You write short encyclopedia passages."
# A passage of two sentences: long enough to add the evidence's words, short enough to cost a
# few seconds on a CPU (~7 s with the 1.5B on one core).
MAX_TOKENS = 64
MAX_QUERY_CHARS = 1000


def prompt_messages(query: str) -> list[Any]:
    return [
        SystemMessage(SYSTEM),
        HumanMessage(
            "Write two sentences from a Wikipedia article that give evidence about this "
            f"claim.\n\nClaim: {query[:MAX_QUERY_CHARS]}"
        ),
    ]


class QueryExpander:
    """Writes one passage per query with a chat model (for the ladder:
    ``ModelProvider().chat(role="large")``) and counts what it asked."""

    def __init__(self, model: Any, *, max_tokens: int = MAX_TOKENS) -> None:
        self.model = model
        self.max_tokens = max_tokens
        self.calls = 0
        self.input_tokens = 0
        self.output_tokens = 0

    def expand(self, query: str) -> str:
        """The passage the model wrote for ``query`` (empty when it wrote nothing)."""
        reply = self.model.invoke(prompt_messages(query), max_tokens=self.max_tokens)
        self.calls += 1
        usage = getattr(reply, "usage_metadata", None) or {}
        self.input_tokens += int(usage.get("input_tokens", 0))
        self.output_tokens += int(usage.get("output_tokens", 0))
        return str(getattr(reply, "content", reply)).strip()
