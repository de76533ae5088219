"""The semantic check on real MiniLM embeddings: a tiny planner's plan is repaired, a good plan
passes unchanged."""

from __future__ import annotations

import pytest

from podium.experts.nl2sql import NL2SQLExpert
from podium.experts.registry import ExpertRegistry
from podium.experts.retrieval import RetrievalExpert
from podium.models.embeddings import load_embedder
from podium.orchestrator.context import routing_hints
from podium.orchestrator.plan import Plan, Step
from podium.orchestrator.semantic_router import SemanticRouter, split_clauses

TASK = "How many orders were placed in 2024, and what is the return policy for damaged items?"


def test_compound_tasks_split_into_their_requests():
    assert split_clauses(TASK) == [
        "How many orders were placed in 2024?",
        "what is the return policy for damaged items?",
    ]
    assert split_clauses("List customers and products sold in Germany.") == [
        "List customers and products sold in Germany."
    ]
    assert split_clauses("Count the orders. Then check the warranty terms") == [
        "Count the orders.",
        "check the warranty terms",
    ]


@pytest.fixture(scope="module")
def router(demo) -> SemanticRouter:
    registry = ExpertRegistry([NL2SQLExpert(), RetrievalExpert()])
    hints = {e.name: routing_hints(e, demo) for e in registry}
    return SemanticRouter(load_embedder(), registry, hints)


def test_a_degenerate_plan_is_repaired(router):
    # What SmolLM2-135M actually proposed for TASK under the plan grammar.
    proposed = Plan(
        steps=[
            Step(id="s1", expert="nl2sql", input="2024-01-01T00:00:00+00:00"),
            Step(id="s2", expert="nl2sql", input="2024-01-01T00:00:00+00:00"),
        ]
    )
    fixed = router.check(proposed, TASK)
    by_expert = {s.expert: s.input for s in fixed.steps}
    assert by_expert == {
        "nl2sql": "How many orders were placed in 2024?",
        "retrieval": "what is the return policy for damaged items?",
    }
    assert fixed.notes  # every correction is explained


def test_a_compound_single_step_is_narrowed_and_the_rest_covered(router):
    proposed = Plan(steps=[Step(id="s1", expert="nl2sql", input=TASK)])
    fixed = router.check(proposed, TASK)
    assert [(s.expert, s.input) for s in fixed.steps] == [
        ("nl2sql", "How many orders were placed in 2024?"),
        ("retrieval", "what is the return policy for damaged items?"),
    ]


def test_a_good_plan_passes_unchanged(router):
    good = Plan(
        steps=[
            Step(id="s1", expert="nl2sql", input="How many orders were placed in 2024?"),
            Step(id="s2", expert="retrieval", input="What is the return policy for damaged items?"),
        ]
    )
    fixed = router.check(good, TASK)
    assert fixed.steps == good.steps
    assert fixed.notes == []


def test_routing_prefers_the_expert_whose_domain_matches(router):
    assert router.route("Which customers spent the most money?").expert == "nl2sql"
    assert router.route("How long does express delivery take?").expert == "retrieval"


def test_in_advisory_mode_a_strong_planners_plan_stands_and_disagreements_are_noted(demo):
    from podium.experts.fact_check import FactCheckExpert
    from podium.orchestrator.semantic_router import RouterSettings

    registry = ExpertRegistry([NL2SQLExpert(), RetrievalExpert(), FactCheckExpert()])
    hints = {e.name: routing_hints(e, demo) for e in registry}
    task = "Is it true that every product carries a three-year warranty?"
    # What the ladder's 1.5B planner proposed; full correction sends it to retrieval.
    proposed = Plan(steps=[Step(id="s1", expert="fact_check", input=task)])
    strict = SemanticRouter(load_embedder(), registry, hints)
    advisory = SemanticRouter(load_embedder(), registry, hints, RouterSettings(advisory=True))

    corrected = strict.review(proposed, task)
    kept = advisory.review(proposed, task)

    assert [s.expert for s in corrected.steps] != ["fact_check"]
    assert [(s.expert, s.input) for s in kept.steps] == [("fact_check", task)]
    assert kept.notes and all(n.startswith("router disagrees (not applied)") for n in kept.notes)


@pytest.fixture(scope="module")
def advisory(demo) -> SemanticRouter:
    from podium.experts.fact_check import FactCheckExpert
    from podium.orchestrator.semantic_router import RouterSettings

    registry = ExpertRegistry([NL2SQLExpert(), RetrievalExpert(), FactCheckExpert()])
    hints = {e.name: routing_hints(e, demo) for e in registry}
    return SemanticRouter(load_embedder(), registry, hints, RouterSettings(advisory=True))


def test_a_strong_planner_is_overruled_where_the_database_clearly_owns_the_request(advisory):
    # What the ladder's 1.5B planner proposed: the count answered from a loyalty passage.
    task = "How many customers live in Germany?"
    proposed = Plan(steps=[Step(id="s1", expert="retrieval", input=task)])

    reviewed = advisory.review(proposed, task)

    assert [(s.expert, s.input) for s in reviewed.steps] == [("nl2sql", task)]
    assert reviewed.notes[0].startswith("router overruled: s1: retrieval -> nl2sql")


@pytest.fixture(scope="module")
def informed(demo) -> SemanticRouter:
    """The advisory router as a run builds it: it can look up the demo database's values."""
    from podium.experts.fact_check import FactCheckExpert
    from podium.orchestrator.semantic_router import RouterSettings
    from podium.orchestrator.sources import database_cards, stored_values_named

    registry = ExpertRegistry([NL2SQLExpert(), RetrievalExpert(), FactCheckExpert()])
    hints = {e.name: routing_hints(e, demo) for e in registry}
    cards = database_cards(demo)
    return SemanticRouter(
        load_embedder(),
        registry,
        hints,
        RouterSettings(advisory=True),
        stored_values=lambda text: stored_values_named(text, cards),
    )


@pytest.mark.parametrize(
    ("task", "named"),
    [
        # The 1.5B planner sent both to the documents, which list the categories and never
        # mention the tent; "the cheapest backpack" was answered with the about page.
        ("What is the cheapest backpack?", "'backpacks' (products.category)"),
        ("What does the Ridge Ultralight Tent cost?", "'Ridge Ultralight Tent' (products.name)"),
        # A class is enough when the question asks which records are in it: the planner sent
        # this one to the documents, which quoted the loyalty programme.
        (
            "Who are the gold customers in Norway?",
            "it asks which customers hold 'gold' (customers.segment)",
        ),
        ("Which gold customers live in Canada?", "it asks which customers hold 'gold'"),
    ],
)
def test_a_close_call_goes_to_the_database_when_the_question_names_its_records(
    advisory, informed, task, named
):
    proposed = Plan(steps=[Step(id="s1", expert="retrieval", input=task)])

    assert advisory.review(proposed, task).steps[0].expert == "retrieval"  # too close to call
    reviewed = informed.review(proposed, task)

    assert [(s.expert, s.input) for s in reviewed.steps] == [("nl2sql", task)]
    assert named in reviewed.notes[0]


@pytest.mark.parametrize(
    "task",
    [
        "What do gold members get?",  # a class of customers, described on the loyalty page
        "What do gold members in Germany get?",  # two classes: still the loyalty page
        "How long is the warranty on tents?",  # the documents' own subject
        "What do gold customers get?",  # asks what the records get, not which they are
        "What happens to returned orders from gold customers?",
    ],
)
def test_a_document_question_that_mentions_a_category_stays_with_the_documents(informed, task):
    proposed = Plan(steps=[Step(id="s1", expert="retrieval", input=task)])

    assert informed.review(proposed, task).steps[0].expert == "retrieval"


def test_a_database_request_the_strong_planner_left_out_gets_its_step(advisory):
    task = "Which city has the most customers, and what are customer support's opening hours?"
    proposed = Plan(steps=[Step(id="s1", expert="retrieval", input=task)])

    reviewed = advisory.review(proposed, task)

    assert [(s.expert, s.input) for s in reviewed.steps] == [
        ("retrieval", task),
        ("nl2sql", "Which city has the most customers?"),
    ]


def test_a_question_is_not_a_claim_to_fact_check(advisory):
    # What the 1.5B planner proposed in the conversation set: a fact check of a question,
    # answered "refuted (0.16)" and then "I don't know" although the returns page says 30 days.
    task = "Within how many days of delivery can I return an unused item?"
    proposed = Plan(steps=[Step(id="s1", expert="fact_check", input=task)])

    reviewed = advisory.review(proposed, task)

    assert [(s.expert, s.input) for s in reviewed.steps] == [("retrieval", task)]
    assert reviewed.notes[0].startswith("router overruled: s1: fact_check -> retrieval")
    conditional = "If it arrives damaged, how many days do I have to contact support?"
    proposed = Plan(steps=[Step(id="s1", expert="fact_check", input=conditional)])
    assert advisory.review(proposed, conditional).steps[0].expert == "retrieval"


@pytest.mark.parametrize(
    "claim",
    [
        "Is it true that every product carries a three-year warranty?",
        "Check this claim against our documents: the shop was founded in 2019 in Rotterdam.",
        "Verify the statement that gold members get free express shipping.",
        "Is standard EU delivery free for orders over 75 EUR?",
    ],
)
def test_claims_and_yes_no_questions_stay_with_the_fact_checker(advisory, claim):
    proposed = Plan(steps=[Step(id="s1", expert="fact_check", input=claim)])

    reviewed = advisory.review(proposed, claim)

    assert reviewed.steps[0].expert == "fact_check"


def test_a_strong_planners_right_plan_is_not_overruled(advisory):
    task = "How many orders were placed in 2024, and what is the return policy for damaged items?"
    proposed = Plan(
        steps=[
            Step(id="s1", expert="nl2sql", input="How many orders were placed in 2024?"),
            Step(id="s2", expert="retrieval", input="What is the return policy for damaged items?"),
        ]
    )
    assert advisory.review(proposed, task) == proposed


def test_only_planners_measured_or_known_to_be_strong_skip_the_corrections():
    from podium.models.catalog import plans_reliably

    assert plans_reliably("local:qwen2.5-coder-1.5b")
    assert plans_reliably("openai-compatible:http://127.0.0.1:8000/v1#qwen2.5-72b")
    assert not plans_reliably("local:qwen2.5-coder-0.5b")
    assert not plans_reliably("local:smollm2")
    assert not plans_reliably("local:/models/unknown.gguf")
    assert not plans_reliably(object())  # a scripted or custom model object


def test_a_search_that_refers_back_searches_with_the_request_it_refers_to(advisory, demo):
    from podium.experts.base import ExpertContext
    from podium.experts.retrieval import RetrievalRequest
    from podium.models.provider import ModelProvider

    # What the 1.5B planner proposed: the search for "What do they get?" found nothing it
    # could trust (0.15), and the answer said it did not know what gold customers get.
    task = "How many gold customers do we have, and what do they get?"
    proposed = Plan(
        steps=[
            Step(id="s1", expert="nl2sql", input="How many gold customers do we have?"),
            Step(id="s2", expert="retrieval", input="What do they get?"),
        ]
    )

    reviewed = advisory.review(proposed, task)

    assert [s.input for s in reviewed.steps] == [
        "How many gold customers do we have?",  # the database step stands alone
        "How many gold customers do we have? What do they get?",
    ]
    ctx = ExpertContext(workspace=demo, models=ModelProvider({"embeddings": "local:minilm"}))
    found = RetrievalExpert().run(RetrievalRequest(query=reviewed.steps[1].input), ctx)
    assert found.output[0]["source"].endswith("loyalty.md") and found.confidence >= 0.3


def test_a_request_that_names_its_subject_is_searched_as_written(advisory):
    task = "How many orders were placed in 2024, and is it true that returns are free?"
    proposed = Plan(
        steps=[
            Step(id="s1", expert="nl2sql", input="How many orders were placed in 2024?"),
            Step(id="s2", expert="retrieval", input="is it true that returns are free?"),
        ]
    )
    assert advisory.review(proposed, task).steps[1].input == "is it true that returns are free?"
