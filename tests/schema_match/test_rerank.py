"""The LLM rerank policy: what the large model says changes the order, and is recorded."""

from __future__ import annotations

import asyncio
from pathlib import Path

import pytest
from langchain_core.language_models.fake_chat_models import FakeListChatModel

from podium.experts.schema_match import LLMRerank, llm_rerank, match_tables
from podium.models.provider import ModelProvider


def _rerank(result, replies: list[str], **policy):
    provider = ModelProvider({"large": FakeListChatModel(responses=replies)})
    return asyncio.run(llm_rerank(result, provider, LLMRerank(**policy)))


def test_the_models_ranking_reorders_candidates_and_is_recorded(
    customers: Path, clients: Path
) -> None:
    base = match_tables(customers, clients, embeddings=None, top_k=3)
    # The scripted large model always prefers the second candidate, then the first.
    out = _rerank(base, ['{"ranking": [2, 1]}'], top_k=3)
    assert len(out.rerank) == len(base.columns)
    for before, after, record in zip(base.columns, out.columns, out.rerank, strict=True):
        names = [c.target for c in before.candidates]
        assert record["before"] == names
        assert record["after"] == [names[1], names[0], names[2]]
        assert record["top1_changed"] is True
        assert after.candidates[0].target == names[1]
        # The same scores, handed out in the model's order.
        assert after.candidates[0].score == pytest.approx(before.candidates[0].score)
    assert out.to_dict()["rerank"] == out.rerank


def test_a_reply_without_json_leaves_the_order_and_says_why(customers: Path, clients: Path) -> None:
    base = match_tables(customers, clients, embeddings=None, top_k=3)
    out = _rerank(base, ["I think the first one."], top_k=3)
    assert all("error" in r for r in out.rerank)
    assert [c.candidates[0].target for c in out.columns] == [
        c.candidates[0].target for c in base.columns
    ]


def test_repeated_numbers_count_once_and_unknown_numbers_are_refused(
    customers: Path, clients: Path
) -> None:
    base = match_tables(customers, clients, embeddings=None, top_k=3)
    out = _rerank(base, ['{"ranking": [3, 3]}'], top_k=3)
    names = [c.target for c in base.columns[0].candidates]
    assert out.rerank[0]["after"] == [names[2], names[0], names[1]]
    refused = _rerank(base, ['{"ranking": [9, 1]}'], top_k=3)
    assert "error" in refused.rerank[0]
    assert refused.columns[0].candidates[0].target == names[0]
