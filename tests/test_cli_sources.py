"""Under an answer the CLI says what it used: each document's passage, each database's query."""

from __future__ import annotations

from podium.cli.sources import answer_sources
from podium.records import EvidenceRecord, StepRecord


def test_the_sources_line_names_the_passage_and_the_query():
    passages = StepRecord(
        step_id="s2",
        expert="retrieval",
        status="ok",
        output=[
            {"text": "Standard delivery …", "source": "/ws/docs/shipping.md", "title": "Costs"},
            {"text": "Every parcel …", "source": "/ws/docs/shipping.md", "title": "Tracking"},
        ],
    )
    count = StepRecord(
        step_id="s1",
        expert="nl2sql",
        status="ok",
        output={"sql": "SELECT COUNT(*)\n  FROM orders", "columns": ["n"], "rows": [[543]]},
        evidence=[EvidenceRecord(kind="sql", text="…", source="sqlite:////ws/shop.sqlite")],
    )
    failed = StepRecord(step_id="s3", expert="retrieval", status="failed", error="no documents")
    assert answer_sources([count, passages, failed, passages]) == [
        "shop.sqlite: SELECT COUNT(*) FROM orders",
        "shipping.md › Costs",
    ]
    # read back from the run store a step has no evidence: the query is still shown
    stored = count.model_copy(update={"evidence": []})
    assert answer_sources([stored]) == ["SELECT COUNT(*) FROM orders"]


def test_a_fact_checks_verdict_names_the_document_sentence_it_rests_on():
    check = StepRecord(
        step_id="s1",
        expert="fact_check",
        status="ok",
        output={
            "verdict": "REFUTES",
            "claims": [
                {
                    "claim": "Every product carries a three-year warranty.",
                    "label": "REFUTES",
                    "evidence": "Every product sold by Podium Outfitters carries a two-year "
                    "warranty against manufacturing defects, counted from the delivery date.",
                    "source": "/ws/docs/warranty.md",
                },
                {"claim": "Returns are free.", "label": "NOT_ENOUGH_INFO", "source": "x.md"},
            ],
        },
    )
    assert answer_sources([check]) == [
        "warranty.md: “Every product sold by Podium Outfitters carries a two-year warranty against"
        "…”"
    ]
