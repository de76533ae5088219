"""Claim splitting, request parsing, label parsing, metrics and bad input — no models."""

from __future__ import annotations

import json
from importlib.resources import files
from pathlib import Path

import pytest

from podium.errors import ConfigError, InputRejected, ModelUnavailable
from podium.experts.fact_check import ClaimCheck, split_claims
from podium.experts.fact_check.checker import Source, cross_verify, parse_label, render, units
from podium.experts.fact_check.cross import CrossVerifier
from podium.experts.fact_check.expert import gather, parse_request
from podium.experts.fact_check.train import claim_verdict, load_pairs
from podium.experts.fact_check.train import split_claims as split
from podium.experts.fact_check.verifier import (
    HeadWeights,
    TrainedVerifier,
    builtin_weights,
    load_verifier,
)

from ..scripted import scripted


def test_an_answer_is_split_into_sentence_and_clause_claims():
    answer = (
        "Sure! Returns are accepted within 30 days of delivery, and refunds arrive within 5 "
        "business days. Gift cards cannot be returned; worn footwear is returned only if "
        "faulty. Do you need anything else?"
    )
    assert split_claims(answer) == [
        "Returns are accepted within 30 days of delivery.",
        "Refunds arrive within 5 business days.",
        "Gift cards cannot be returned.",
        "Worn footwear is returned only if faulty.",
    ]


def test_lists_are_not_split_into_clauses():
    text = "We sell red, green, and blue shirts in all sizes."
    assert split_claims(text) == [text]


def test_bullets_abbreviations_and_duplicates_are_handled():
    line = "- Sea level rose by approx. 20 cm since 1900."
    text = f"{line}\n{line}\n* Ok"
    assert split_claims(text) == ["Sea level rose by approx. 20 cm since 1900."]


def test_a_question_with_inline_evidence_is_parsed_into_claim_and_evidence():
    claim, evidence = parse_request("Is it true that CO2 levels are rising? Evidence: CO2 rose.")
    assert (claim, evidence) == ("CO2 levels are rising", "CO2 rose.")
    assert parse_request("Check whether the Arctic is warming")[0] == "the Arctic is warming"
    assert parse_request("Check this claim against our documents: the shop opened in 2019.") == (
        "the shop opened in 2019.",
        "",
    )
    assert parse_request("Verify the statement that returns are free.")[0] == "returns are free."


@pytest.mark.parametrize(
    ("reply", "label"),
    [
        ("REFUTED", "REFUTES"),
        ("Supported.", "SUPPORTS"),
        ("NOT ENOUGH INFO", "NOT_ENOUGH_INFO"),
        ("The evidence contradicts it", "REFUTES"),
        ("banana", None),
    ],
)
def test_large_model_replies_are_read_as_labels(reply, label):
    assert parse_label(reply) == label


def test_cross_verification_overrules_an_unsure_small_verdict():
    check = ClaimCheck("Ice is growing.", "SUPPORTS", 0.41, evidence="Ice is shrinking.")
    cross_verify(check, scripted("REFUTED"), threshold=0.6)
    assert (check.label, check.outcome, check.llm_label, check.confidence) == (
        "REFUTES",
        "overruled",
        "REFUTES",
        0.6,
    )
    agree = ClaimCheck("Ice is shrinking.", "SUPPORTS", 0.41, evidence="Ice is shrinking.")
    cross_verify(agree, scripted("SUPPORTED"), threshold=0.6)
    assert (agree.label, agree.outcome, agree.confidence) == ("SUPPORTS", "agreed", 0.6)


def test_step_outputs_become_evidence_rows_as_text():
    results = {
        "s1": {
            "expert": "nl2sql",
            "output": {"columns": ["year", "orders"], "rows": [[2024, 17]]},
            "evidence": [],
            "error": None,
        },
        "s2": {
            "expert": "retrieval",
            "output": [],
            "error": None,
            "evidence": [{"kind": "passage", "text": "Returns within 30 days.", "source": "r.md"}],
        },
    }
    found = gather(results)
    assert Source("year: 2024, orders: 17", "s1") in found
    assert Source("Returns within 30 days.", "r.md") in found
    assert render({"rows": [{"a": 1}]}) == "a: 1"


def test_wrapped_documents_become_sentences_and_rows_stay_rows():
    doc = (
        "# Returns and refunds\n\nReturns are accepted within 30 days of\ndelivery. Refunds take 5 "
        "business\ndays.\n- Gift cards cannot be returned.\n"
    )
    assert [u.text for u in units([Source(doc, "r.md")])] == [
        "# Returns and refunds",
        "Returns are accepted within 30 days of delivery.",
        "Refunds take 5 business days.",
        "- Gift cards cannot be returned.",
    ]
    rows = "year: 2024, orders: 17\nyear: 2025, orders: 20"
    assert [u.text for u in units([Source(rows)])] == rows.splitlines()


def test_claim_labels_follow_climate_fever_aggregation():
    assert claim_verdict([2, 0, 2]) == 0
    assert claim_verdict([1, 2]) == 1
    assert claim_verdict([0, 1]) == 3  # DISPUTED
    assert claim_verdict([2, 2]) == 2


def test_the_split_keeps_every_claim_on_one_side(tmp_path):
    rows = [
        {"claim": f"claim {i // 5}", "evidence": f"ev {i}", "label": "NOT_ENOUGH_INFO"}
        for i in range(100)
    ]
    (tmp_path / "pairs.jsonl").write_text("\n".join(json.dumps(r) for r in rows))
    train, valid = split(load_pairs(tmp_path), seed=0)
    assert set(train.groups).isdisjoint(valid.groups)
    assert len(train) + len(valid) == 100 and len(set(valid.groups)) == 4


def test_bad_training_data_says_which_line_is_wrong(tmp_path):
    (tmp_path / "pairs.jsonl").write_text('{"claim": "a", "evidence": "b", "label": "MAYBE"}\n')
    with pytest.raises(InputRejected, match=r"pairs.jsonl:1 is not a claim"):
        load_pairs(tmp_path)
    with pytest.raises(InputRejected, match="no claim–evidence pairs"):
        load_pairs(tmp_path / "missing")


def test_unknown_verifiers_and_missing_weights_fail_clearly(tmp_path):
    with pytest.raises(ConfigError, match="unknown fact-check verifier"):
        load_verifier(str(tmp_path / "nope"))
    with pytest.raises(ModelUnavailable, match="no verifier weights"):
        TrainedVerifier(tmp_path / "missing.npz")
    (tmp_path / "bad.npz").write_bytes(b"not an npz")
    with pytest.raises(ModelUnavailable, match="podium train fact_check"):
        TrainedVerifier(tmp_path / "bad.npz")


def test_missing_or_broken_cross_encoder_weights_fail_clearly(tmp_path):
    with pytest.raises(ModelUnavailable, match="no cross-encoder verifier"):
        CrossVerifier(tmp_path / "missing.safetensors")
    (tmp_path / "bad.safetensors").write_bytes(b"not safetensors")
    (tmp_path / "bad.json").write_text("{not json")
    with pytest.raises(ModelUnavailable, match="podium train fact_check"):
        CrossVerifier(tmp_path / "bad.safetensors")
    shipped = Path(str(files("podium.experts.fact_check") / "cross_encoder.json"))
    (tmp_path / "bad.json").write_text(shipped.read_text())
    with pytest.raises(ModelUnavailable, match="cannot read verifier weights"):
        CrossVerifier(tmp_path / "bad.safetensors")


def test_the_shipped_verifiers_say_what_data_they_learned_from_and_its_licence():
    head = HeadWeights.load(builtin_weights()).meta
    shipped = Path(str(files("podium.experts.fact_check") / "cross_encoder.json"))
    cross = json.loads(shipped.read_text())["meta"]
    for meta in (head, cross):
        assert "Climate-FEVER" in meta["data"] and "arXiv 2012.00614" in meta["data"]
        assert "licence" in meta["data_licence"] and "all-MiniLM-L6-v2" in meta["base_model"]
