"""A one-step plan that found a passage answers in the passage's own words."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from podium import ExpertResult, expert
from podium.orchestrator.plan import Plan, Step
from podium.orchestrator.quotes import quoted_answer, sentences

from .scripted import plan_json

DOCS = Path(__file__).resolve().parents[1] / "podium" / "demo" / "docs"


def _section(name: str, heading: str) -> str:
    return (DOCS / name).read_text().split(heading, 1)[1].split("\n## ", 1)[0]


def _outcome(question: str, text: str, confidence: float = 0.66) -> dict[str, Any]:
    passage = {"text": text, "source": str(DOCS / "shipping.md"), "title": "Shipping > Delivery"}
    return {"status": "ok", "input": question, "confidence": confidence, "output": [passage]}


@pytest.fixture(scope="module")
def similarity() -> Any:
    from podium.models.embeddings import load_embedder

    return load_embedder().similarity_to


def _quote(question: str, text: str, similarity: Any, confidence: float = 0.66) -> str | None:
    plan = Plan(steps=[Step(id="s1", expert="retrieval", input=question)])
    outcome = _outcome(question, text, confidence)
    return quoted_answer(plan, {"s1": outcome}, 0.3, similarity)  # type: ignore[dict-item]


def test_a_wrapped_markdown_passage_is_cut_into_its_sentences():
    text = _section("shipping.md", "## Delivery times and costs")
    assert sentences(text) == [
        "Standard delivery within the EU takes 2 to 4 business days and costs 4.95 EUR; it is "
        "free for orders over 75 EUR.",
        "Express delivery arrives the next business day for 12.95 EUR when ordered before "
        "14:00 CET.",
        "Deliveries to the United States and Canada take 5 to 8 business days and cost 19.95 EUR.",
    ]
    assert sentences("# Returns\n\n- Unused items within 30 days.\n- Tags attached to it.") == [
        "Unused items within 30 days.",
        "Tags attached to it.",
    ]


def test_the_sentence_that_answers_is_quoted_with_its_condition(similarity: Any):
    text = _section("shipping.md", "## Delivery times and costs")
    answer = _quote("How much does standard delivery within the EU cost?", text, similarity)
    # the condition a paraphrase lost ("costs 4.95 EUR for orders over 75 EUR") is kept
    assert answer == (
        "Standard delivery within the EU takes 2 to 4 business days and costs 4.95 EUR; it is "
        "free for orders over 75 EUR. (from shipping.md, Shipping > Delivery)"
    )


def test_a_close_call_quotes_both_sentences(similarity: Any):
    # the follow-up rewrite of "And express delivery?" carries "within the EU" over from the
    # question before, and the standard-delivery sentence scores 0.08 above the express one
    text = _section("shipping.md", "## Delivery times and costs")
    answer = _quote("What is the cost of express delivery within the EU?", text, similarity) or ""
    assert "12.95 EUR" in answer and "free for orders over 75 EUR" in answer
    assert "19.95 EUR" not in answer


def test_a_broad_question_is_answered_by_more_than_one_sentence(similarity: Any):
    text = (DOCS / "warranty.md").read_text()
    answer = _quote("What does the warranty cover?", text, similarity) or ""
    assert "two-year warranty against manufacturing defects" in answer
    assert "does not cover normal wear" in answer


def test_a_step_without_a_passage_or_a_weak_passage_is_left_to_the_model(similarity: Any):
    text = _section("shipping.md", "## Delivery times and costs")
    assert _quote("How much is delivery?", text, similarity, confidence=0.1) is None
    two = Plan(steps=[Step(id="s1", expert="a", input="x"), Step(id="s2", expert="b", input="y")])
    assert quoted_answer(two, {}, 0.3, similarity) is None
    rows = {"status": "ok", "input": "x", "confidence": 0.9, "output": {"rows": [[1]]}}
    one = Plan(steps=[Step(id="s1", expert="nl2sql", input="x")])
    assert quoted_answer(one, {"s1": rows}, 0.3, similarity) is None  # type: ignore[dict-item]
    passage = _outcome("How much is express delivery?", text)
    mixed = {"s1": passage, "s2": rows}
    assert quoted_answer(two, mixed, 0.3, similarity) is None  # type: ignore[arg-type]


def test_several_passage_steps_are_each_quoted_in_plan_order(similarity: Any):
    # The 1.5B joined these two quotes into "Express delivery takes 12.95 EUR ... and 5 to 8
    # business days for the United States and Canada".
    delivery = _section("shipping.md", "## Delivery times and costs")
    countries = (DOCS / "shipping.md").read_text().split("## Delivery", 1)[0].split("\n", 2)[2]
    plan = Plan(
        steps=[
            Step(id="s1", expert="retrieval", input="Do you ship to Switzerland?"),
            Step(id="s2", expert="retrieval", input="How long does express delivery take?"),
            Step(id="s3", expert="retrieval", input="How long does express delivery take?"),
        ]
    )
    results = {
        "s1": _outcome("Do you ship to Switzerland?", countries),
        "s2": _outcome("How long does express delivery take?", delivery),
        "s3": _outcome("How long does express delivery take?", delivery),
    }

    answer = quoted_answer(plan, results, 0.3, similarity)  # type: ignore[arg-type]

    assert answer is not None
    assert answer.startswith("We ship from our warehouse in Rotterdam")
    assert "Express delivery arrives the next business day for 12.95 EUR" in answer
    assert answer.count("Express delivery arrives") == 1  # the same quote once


@expert(description="Finds passages in the shop's policy documents.")
def policies(text: str) -> ExpertResult:
    section = _section("shipping.md", "## Delivery times and costs")
    return ExpertResult(
        output=[{"text": section, "source": "docs/shipping.md", "title": "Delivery"}],
        confidence=0.66,
    )


def test_a_run_quotes_its_passage_without_calling_the_synthesizer(make_podium):
    # Only the planner's reply is scripted: a synthesis call would find no reply and fail.
    podium = make_podium(
        plan_json(("s1", "policies", "How much does express delivery cost?")),
        experts=[policies],
    )
    result = podium.run("How much does express delivery cost?")
    assert result.answer.startswith("Express delivery arrives the next business day for 12.95 EUR")
    assert result.answer.endswith("(from shipping.md, Delivery)")
    assert result.cost["model_calls"] == 1  # the plan only


def test_a_broad_question_quotes_the_section_that_answers_it(demo: Any, similarity: Any):
    """The demo's returns page ranks its "cannot be returned" section first for "What is your
    return policy?"; the quote comes from the document's best sentences, wherever they are."""
    from podium.experts.base import ExpertContext
    from podium.experts.retrieval import RetrievalExpert, RetrievalRequest
    from podium.models.provider import ModelProvider

    question = "What is your return policy?"
    ctx = ExpertContext(workspace=demo, models=ModelProvider({"embeddings": "local:minilm"}))
    found = RetrievalExpert().run(RetrievalRequest(query=question), ctx)
    top = found.output[0]
    assert top["source"].endswith("returns.md") and "Gift cards" in top["text"]
    assert any("within 30 days" in more["text"] for more in top["more"])
    plan = Plan(steps=[Step(id="s1", expert="retrieval", input=question)])
    outcome = {"status": "ok", "input": question, "confidence": found.confidence}
    answer = quoted_answer(plan, {"s1": {**outcome, "output": found.output}}, 0.3, similarity)
    assert answer is not None
    assert "accepts returns of unused items within 30 days of delivery" in answer
    assert "Gift cards" not in answer
    assert answer.endswith("(from returns.md, Returns and refunds)")


@expert(description="Finds passages in the shop's policy documents.")
def warranty(text: str) -> ExpertResult:
    page = (DOCS / "warranty.md").read_text()
    return ExpertResult(
        output=[{"text": page, "source": "docs/warranty.md", "title": "Warranty"}],
        confidence=0.3,
    )


@expert(description="Counts the products of a category.")
def products(text: str) -> str:
    return "COUNT(id): 10"


def test_the_writer_of_a_several_step_answer_reads_the_sentences_that_answer(workspace):
    """Given the whole warranty page, the 1.5B model said Summit tents carry the page's general
    two-year warranty; the sentence that answers says five years, and that is what it reads."""
    from podium import Podium

    from .scripted import RuleChatModel

    prompts: list[str] = []

    def reply(messages: list[Any]) -> str:
        if str(messages[0].content).startswith("You are the planner"):
            return plan_json(
                ("s1", "products", "How many products are in the tents category?"),
                ("s2", "warranty", "What is the warranty on Summit tents?"),
            )
        prompts.append(str(messages[-1].content))
        return "There are 10 tents. Summit tents carry a five-year warranty."

    podium = Podium(
        planner=RuleChatModel(rule=reply),
        experts=[products, warranty],
        workspace=workspace,
        builtins=False,
        plugins=False,
        warmup=False,
        semantic_check=False,
    )
    result = podium.run("How many tents are there, and what is the warranty on Summit tents?")

    assert result.answer == "There are 10 tents. Summit tents carry a five-year warranty."
    [prompt] = prompts
    assert "Summit line carry a five-year warranty. (from warranty.md, Warranty)" in prompt
    assert "two-year" not in prompt and "warranty@" not in prompt  # not the whole page
    assert "COUNT(id): 10" in prompt  # other results as they were
