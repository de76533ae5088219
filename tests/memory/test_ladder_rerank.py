"""The ladder's large model as a reranker: it reads each (query, passage) pair and the top
documents are reordered by its judgement; asked for by a request, counted as a large call."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from langchain_core.messages import BaseMessage

from podium.experts.base import ExpertContext
from podium.experts.retrieval import RetrievalExpert, RetrievalRequest
from podium.memory.documents import DocumentStore, Hit, LadderReranker
from podium.models.provider import ModelProvider
from podium.workspace import Workspace
from tests.scripted import RuleChatModel

TEXTS = [
    ("shipping.md", "Standard delivery takes three to five business days."),
    ("warranty.md", "Electronics carry a two year warranty against defects."),
    ("returns.md", "Items can be returned within 30 days of delivery for a full refund."),
    ("loyalty.md", "Members earn one point per euro spent in the shop."),
]


def judge_by_word(word: str) -> RuleChatModel:
    """A scripted large model: "yes" when the passage in the prompt mentions ``word``."""

    def rule(messages: list[BaseMessage]) -> str:
        prompt = str(messages[-1].content)
        passage = prompt.split("Passage:", 1)[1]
        return "Yes." if word in passage.lower() else "No"

    return RuleChatModel(rule=rule)


def hit(source: str, text: str, score: float) -> Hit:
    return Hit(chunk_id=0, text=text, source=source, title="", page=None, score=score)


def test_the_model_s_yes_moves_a_document_up_and_ties_keep_the_first_order() -> None:
    hits = [hit(s, t, 1.0 - i / 10) for i, (s, t) in enumerate(TEXTS)]
    reranker = LadderReranker(judge_by_word("refund"))

    reranked = reranker.rerank("can I send it back?", hits)

    assert [h.source for h in reranked] == [
        "returns.md",  # the one the model said yes to
        "shipping.md",  # the others in their first-stage order
        "warranty.md",
        "loyalty.md",
    ]
    assert reranked[0].scores["rerank"] == 1.0 and reranked[1].scores["rerank"] == 0.0
    assert reranked[0].scores["first_stage"] == pytest.approx(0.8)
    assert reranker.pairs == 4


def test_an_answer_that_is_neither_yes_nor_no_ranks_between_them() -> None:
    replies = {"shipping.md": "No", "warranty.md": "Maybe", "returns.md": "yes"}

    def rule(messages: list[BaseMessage]) -> str:
        prompt = str(messages[-1].content)
        return next(r for s, r in replies.items() if dict(TEXTS)[s] in prompt)

    hits = [hit(s, t, 1.0) for s, t in TEXTS[:3]]
    reranked = LadderReranker(RuleChatModel(rule=rule)).rerank("q", hits)
    assert [h.source for h in reranked] == ["returns.md", "warranty.md", "shipping.md"]


@pytest.mark.slow
def test_a_search_reorders_only_its_top_documents_with_the_reranker(tmp_path: Path) -> None:
    store = DocumentStore(f"sqlite:///{tmp_path / 's.sqlite'}")
    store.add_texts({"source": s, "text": t} for s, t in TEXTS)
    query = "how long does delivery take?"
    plain = [h.source for h in store.search(query, k=4)]
    assert plain[0] == "shipping.md"

    reranker = LadderReranker(judge_by_word("point"))
    reranked = [h.source for h in store.search(query, k=4, reranker=reranker, rerank_depth=4)]
    assert reranked[0] == "loyalty.md" and sorted(reranked) == sorted(plain)
    assert reranker.pairs == 4

    shallow = LadderReranker(judge_by_word("point"))
    first_two = store.search(query, k=4, reranker=shallow, rerank_depth=2)
    assert shallow.pairs == 2  # only the top two were read; the rest keep their places
    assert [h.source for h in first_two][2:] == plain[2:]
    store.close()


@pytest.mark.slow
def test_the_expert_reranks_with_the_large_role_when_asked(tmp_path: Path) -> None:
    ws = Workspace.init(tmp_path / "ws")
    notes = tmp_path / "notes"
    notes.mkdir()
    for source, text in TEXTS:
        (notes / source).write_text(f"# {source[:-3].title()}\n{text}")
    store_ctx = ExpertContext(
        workspace=ws,
        models=ModelProvider({"embeddings": "local:minilm", "large": judge_by_word("euro")}),
    )
    RetrievalExpert().store(ws).ingest([notes])
    request = {"query": "how long does delivery take?", "k": 2}

    plain = RetrievalExpert().run(RetrievalRequest(**request), store_ctx)
    assert plain.output[0]["source"].endswith("shipping.md")
    assert plain.cost.large_calls == 0 and plain.details["reranked_by"] is None

    asked = RetrievalExpert().run(RetrievalRequest(**request, rerank="large"), store_ctx)
    assert asked.output[0]["source"].endswith("loyalty.md")
    assert asked.cost.large_calls == 1 and asked.details["reranked_by"] == "large"

    # The expert's own default applies when the request does not say.
    default_on = RetrievalExpert(rerank="large").run(RetrievalRequest(**request), store_ctx)
    assert default_on.output[0]["source"].endswith("loyalty.md")
    told_off = RetrievalExpert(rerank="large").run(
        RetrievalRequest(**request, rerank="none"), store_ctx
    )
    assert told_off.output[0]["source"].endswith("shipping.md")


@pytest.mark.slow
def test_the_real_large_model_prefers_the_relevant_passage(large_model: Any) -> None:
    reranker = LadderReranker(large_model)
    query = "Global warming is driving polar bears toward extinction"
    hits = [
        hit("football", "The team won the national cup in 1998 after extra time.", 0.9),
        hit(
            "bears",
            "Polar bear populations are declining as sea ice lost to global warming shrinks "
            "their hunting grounds.",
            0.5,
        ),
        hit("bread", "Sourdough bread is leavened by wild yeast and lactic acid bacteria.", 0.4),
    ]
    reranked = reranker.rerank(query, hits)
    assert reranked[0].source == "bears"
    assert reranked[0].scores["rerank"] > 0 > max(h.scores["rerank"] for h in reranked[1:])
    assert reranker.input_tokens > 0
