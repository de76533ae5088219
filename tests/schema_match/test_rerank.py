"""The LLM rerank policy: the candidate the large model names moves first, and is recorded."""

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


def test_the_candidate_the_model_names_moves_first_and_is_recorded(
    customers: Path, clients: Path
) -> None:
    base = match_tables(customers, clients, embeddings=None, top_k=3)
    before = base.columns[0]
    names = [c.target for c in before.candidates]
    out = _rerank(base, [f'{{"best": "{names[1]}"}}'], top_k=3, unsure_only=False)
    record = next(r for r in out.rerank if r["source"] == before.source)
    assert record["before"] == names
    assert record["after"] == [names[1], names[0], names[2]]  # the others keep their order
    assert record["top1_changed"] is True
    after = out.columns[0]
    assert after.candidates[0].target == names[1]
    # The same scores, handed out in the model's order.
    assert after.candidates[0].score == pytest.approx(before.candidates[0].score)
    assert out.to_dict()["rerank"] == out.rerank


def test_a_reply_without_json_leaves_the_order_and_says_why(customers: Path, clients: Path) -> None:
    base = match_tables(customers, clients, embeddings=None, top_k=3)
    out = _rerank(base, ["I think the first one."], top_k=3, unsure_only=False)
    assert out.rerank and all("error" in r for r in out.rerank)
    assert [c.candidates[0].target for c in out.columns] == [
        c.candidates[0].target for c in base.columns
    ]


def test_a_name_that_is_not_a_candidate_is_refused(customers: Path, clients: Path) -> None:
    base = match_tables(customers, clients, embeddings=None, top_k=3)
    out = _rerank(base, ['{"best": "no_such_column"}'], top_k=3, unsure_only=False)
    assert "error" in out.rerank[0]
    assert out.columns[0].candidates[0].target == base.columns[0].candidates[0].target


def test_only_columns_the_matcher_is_unsure_of_go_to_the_model(
    customers: Path, clients: Path
) -> None:
    base = match_tables(customers, clients, embeddings=None, top_k=3)
    unsure = {c.source for c in base.columns if c.candidates[0].score < base.threshold}
    sure = {c.source for c in base.columns} - unsure
    assert sure, "the fixture needs a column the matcher is sure of"
    out = _rerank(base, ["not json"], top_k=3)  # every call answered, and recorded
    assert {r["source"] for r in out.rerank} == unsure
    everything = _rerank(base, ["not json"], top_k=3, unsure_only=False)
    assert {r["source"] for r in everything.rerank} == unsure | sure


@pytest.mark.slow
def test_the_embedded_model_reranks_under_the_candidate_schema(
    customers: Path, clients: Path
) -> None:
    base = match_tables(customers, clients, embeddings=None, top_k=3)
    policy = LLMRerank(model="local:smollm2", top_k=3, unsure_only=False)
    out = asyncio.run(llm_rerank(base, ModelProvider(), policy, rows=[1, 2]))
    assert [r["source"] for r in out.rerank] == ["full_name", "email_addr"]
    for record in out.rerank:
        assert "error" not in record, record
        assert sorted(record["after"]) == sorted(record["before"])  # a permutation, no inventions
        assert record["after"][1:] == [n for n in record["before"] if n != record["after"][0]]
