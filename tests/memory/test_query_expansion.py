"""Query expansion: the large model writes a passage for the query and the search reads it
beside the query; asked for by a request or only where the search is unsure (``auto``),
counted as a large-model call, and never losing the plain answer when the model fails."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from langchain_core.messages import BaseMessage

from podium import Podium
from podium.experts.base import ExpertContext
from podium.experts.retrieval import RetrievalExpert, RetrievalRequest
from podium.experts.retrieval.expert import EXPAND_BELOW
from podium.memory.documents import DocumentStore, QueryExpander
from podium.models.provider import ModelProvider
from podium.workspace import Workspace
from tests.scripted import RuleChatModel, plan_json

# The evidence for "Are polar bears dying out?" shares none of its words; two distractors do.
TEXTS = [
    (
        "ice.md",
        "Arctic sea ice loss is shrinking the hunting grounds of Ursus maritimus, whose "
        "numbers fall as the ice retreats.",
    ),
    ("zoo.md", "The city zoo's polar bear enclosure draws record crowds every winter."),
    ("dodo.md", "The dodo died out in the seventeenth century after sailors reached Mauritius."),
    ("shipping.md", "Standard delivery takes three to five business days."),
]
QUESTION = "Are polar bears dying out?"
PASSAGE = (
    "Polar bears hunt seals from the sea ice, and as Arctic sea ice retreats their hunting "
    "grounds shrink and their numbers fall."
)


def writer(reply: str = PASSAGE) -> tuple[RuleChatModel, list[str]]:
    """A scripted large model that writes ``reply``, and the prompts it was asked."""
    asked: list[str] = []

    def rule(messages: list[BaseMessage]) -> str:
        asked.append(str(messages[-1].content))
        return f"  {reply}\n"

    return RuleChatModel(rule=rule), asked


def failing() -> RuleChatModel:
    def rule(messages: list[BaseMessage]) -> str:
        raise ConnectionError("endpoint unreachable")

    return RuleChatModel(rule=rule)


def test_the_expander_asks_for_a_passage_about_the_query_and_counts_the_call() -> None:
    model, asked = writer()
    expander = QueryExpander(model)

    assert expander.expand(QUESTION) == PASSAGE  # stripped
    assert expander.calls == 1
    assert QUESTION in asked[0] and "Wikipedia" in asked[0]


@pytest.mark.slow
def test_the_search_reads_the_passage_beside_the_query(tmp_path: Path) -> None:
    store = DocumentStore(f"sqlite:///{tmp_path / 's.sqlite'}")
    store.add_texts({"source": s, "text": t} for s, t in TEXTS)
    plain = [h.source for h in store.search(QUESTION, k=4)]
    expanded = [h.source for h in store.search(QUESTION, k=4, expansion=PASSAGE)]
    assert sorted(plain) == sorted(expanded)
    # the evidence worded unlike the question rises once the passage supplies its words
    assert expanded.index("ice.md") < plain.index("ice.md")
    store.close()


def _workspace(tmp_path: Path) -> Workspace:
    ws = Workspace.init(tmp_path / "ws")
    notes = tmp_path / "notes"
    notes.mkdir()
    for source, text in TEXTS:
        (notes / source).write_text(f"# {source[:-3].title()}\n{text}")
    RetrievalExpert().store(ws).ingest([notes])
    return ws


def _ctx(ws: Workspace, large: object) -> ExpertContext:
    return ExpertContext(
        workspace=ws, models=ModelProvider({"embeddings": "local:minilm", "large": large})
    )


@pytest.mark.slow
def test_the_expert_expands_when_asked_and_keeps_the_plain_search_s_confidence(
    tmp_path: Path,
) -> None:
    ws = _workspace(tmp_path)
    model, asked_prompts = writer()
    request = {"query": QUESTION, "k": 4}

    plain = RetrievalExpert().run(RetrievalRequest(**request), _ctx(ws, model))
    assert plain.cost.large_calls == 0 and "expand" not in plain.details and not asked_prompts

    asked = RetrievalExpert().run(RetrievalRequest(**request, expand="large"), _ctx(ws, model))
    order = [p["source"].rsplit("/", 1)[-1] for p in asked.output]
    before = [p["source"].rsplit("/", 1)[-1] for p in plain.output]
    assert order.index("ice.md") < before.index("ice.md")
    assert asked.cost.large_calls == 1 and len(asked_prompts) == 1
    assert asked.details["expand"] == "large" and asked.details["expanded_with"] == PASSAGE
    # the calibrator was fitted on plain searches: its reading of the plain one is kept
    assert asked.confidence == plain.confidence
    assert asked.details["plain_confidence"] >= asked.confidence


@pytest.mark.slow
def test_auto_expands_only_where_the_plain_search_is_unsure(tmp_path: Path) -> None:
    ws = _workspace(tmp_path)
    model, asked = writer()
    expert = RetrievalExpert(expand="auto")

    sure = expert.run(
        RetrievalRequest(query="How long does standard delivery take?"), _ctx(ws, model)
    )
    assert sure.details["plain_confidence"] >= EXPAND_BELOW
    assert sure.details["expanded_with"] is None and sure.cost.large_calls == 0
    assert not asked

    unsure = expert.run(RetrievalRequest(query=QUESTION), _ctx(ws, model))
    assert unsure.details["plain_confidence"] < EXPAND_BELOW
    assert unsure.details["expanded_with"] == PASSAGE and unsure.cost.large_calls == 1

    # a request's own policy wins over the expert's
    told_off = expert.run(RetrievalRequest(query=QUESTION, expand="none"), _ctx(ws, model))
    assert told_off.cost.large_calls == 0 and len(asked) == 1


@pytest.mark.slow
def test_a_failing_large_model_or_a_zero_budget_still_answers_from_the_plain_search(
    tmp_path: Path,
) -> None:
    ws = _workspace(tmp_path)
    request = RetrievalRequest(query=QUESTION, k=4, expand="large")
    plain = RetrievalExpert().run(RetrievalRequest(query=QUESTION, k=4), _ctx(ws, writer()[0]))

    broken = RetrievalExpert().run(request, _ctx(ws, failing()))
    assert broken.ok and broken.output == plain.output
    assert "endpoint unreachable" in broken.details["expansion_skipped"]
    assert broken.cost.large_calls == 0

    ws.config.limits.max_large_calls = 0
    model, asked = writer()
    capped = RetrievalExpert().run(request, _ctx(ws, model))
    assert capped.output == plain.output and not asked
    assert "no large-model calls" in capped.details["expansion_skipped"]


@pytest.mark.slow
def test_the_real_large_model_writes_a_passage_about_the_claim(large_model: Any) -> None:
    expander = QueryExpander(large_model)
    passage = expander.expand("Global warming is driving polar bears toward extinction")
    assert "polar bear" in passage.lower() and len(passage.split()) >= 10
    assert expander.calls == 1 and expander.output_tokens > 0


@pytest.mark.slow
def test_a_podium_whose_retrieval_expands_counts_the_large_call_in_the_run(
    tmp_path: Path,
) -> None:
    ws = _workspace(tmp_path)

    def planner(messages: list[BaseMessage]) -> str:
        if str(messages[0].content).startswith("You are the planner"):
            return plan_json(("s1", "retrieval", QUESTION))
        return "Sea ice loss shrinks their hunting grounds."

    def run(expert: RetrievalExpert, large: Any) -> Any:
        podium = Podium(
            planner=RuleChatModel(rule=planner),
            experts=[expert],
            workspace=ws,
            large=large,
            embeddings="local:minilm",
            builtins=False,
            plugins=False,
            warmup=False,
            semantic_check=False,
        )
        try:
            return podium.run(QUESTION)
        finally:
            podium.close()

    large, asked = writer()
    plain = run(RetrievalExpert(), large)
    expanded = run(RetrievalExpert(expand="large"), large)

    [step] = expanded.steps
    assert step.details["expand"] == "large" and step.details["expanded_with"] == PASSAGE
    assert len(asked) == 1 and QUESTION in asked[0]
    assert step.cost["large_calls"] == 1  # once in the step's cost, once in the run's
    assert expanded.cost.large_calls == plain.cost.large_calls + 1


@pytest.mark.slow
def test_a_workspace_turns_expansion_on_for_the_built_in_expert(tmp_path: Path) -> None:
    ws = _workspace(tmp_path)
    large, asked = writer()
    request = RetrievalRequest(query=QUESTION, k=4)
    assert "expand" not in RetrievalExpert().run(request, _ctx(ws, large)).details

    ws.config.models.expand_queries = "large"  # podium.toml: [models] expand_queries = "large"
    on = RetrievalExpert().run(request, _ctx(ws, large))
    assert on.details["expand"] == "large" and on.details["expanded_with"] == PASSAGE
    # an expert built with its own policy, and a request's, still win
    assert "expand" not in RetrievalExpert(expand="none").run(request, _ctx(ws, large)).details
    told_off = RetrievalExpert().run(
        RetrievalRequest(query=QUESTION, k=4, expand="none"), _ctx(ws, large)
    )
    assert "expand" not in told_off.details and len(asked) == 1
