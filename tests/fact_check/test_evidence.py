"""Evidence selection: the claim's numbers and names decide which sentences may decide it."""

from __future__ import annotations

import numpy as np
import pytest

from podium.experts.fact_check.evidence import admissible, gate, key_terms, rank
from podium.experts.fact_check.labels import NEI, REFUTES, SUPPORTS
from podium.experts.fact_check.restatement import restates

RETURNS = "Podium Outfitters accepts returns of unused items within 30 days of delivery."


def test_key_terms_are_numbers_with_units_and_names_past_the_first_word():
    terms = key_terms("Greenland lost 280 gigatons of ice per year, NASA says, since 2002.")
    assert terms.numbers == {"280", "2002"}
    assert terms.units == {("280", "gigatons")}
    assert terms.names == {"nasa"}
    assert key_terms("CO2 levels rose by 40 percent.").units == {("40", "%")}
    assert key_terms("Warming of 1.5 °C is likely.").names == frozenset()


def test_a_different_number_with_the_same_unit_may_refute_but_never_support():
    claim = "Returns are accepted within 60 days of delivery."
    assert admissible(REFUTES, claim, RETURNS)
    assert not admissible(SUPPORTS, claim, RETURNS)
    assert admissible(SUPPORTS, "Returns are accepted within 30 days.", RETURNS)


def test_a_sentence_about_another_quantity_cannot_refute_a_numeric_claim():
    claim = "Limiting warming to 1.5 °C halves the losses."
    assert not admissible(REFUTES, claim, "Sea level rises by 2 m by 2300.")
    assert admissible(REFUTES, claim, "Warming of 2 °C doubles the losses.")
    assert admissible(NEI, claim, "Sea level rises by 2 m by 2300.")


def test_a_sentence_that_misses_the_claims_names_cannot_decide_it():
    claim = "The ice sheet of Greenland is melting faster than that of Antarctica."
    assert not admissible(SUPPORTS, claim, "The Alps have lost half their glacier volume.")
    assert admissible(SUPPORTS, claim, "Greenland is losing ice faster than Antarctica.")
    decided = np.array([SUPPORTS, REFUTES])
    sentences = ["The Alps are warming.", "Greenland gains ice while Antarctica loses it."]
    assert gate(claim, sentences, decided).tolist() == [NEI, REFUTES]


def test_the_sentence_naming_the_claims_number_is_ranked_into_the_top_k():
    claim = "Refunds arrive within 5 business days."
    sentences = [
        "Refunds go back to the original payment method.",
        "Refunds are processed within 5 business days after the parcel arrives.",
        "Refund requests are handled by our support team.",
    ]
    sims = np.array([0.80, 0.70, 0.78])  # cosine alone would drop the decisive sentence at k=2
    assert rank(claim, sentences, sims, 2) == [1, 0]


WARRANTY = (
    "Every product sold by Podium Outfitters carries a two-year warranty against manufacturing "
    "defects, counted from the delivery date."
)
FOUNDED = (
    "Podium Outfitters is an online shop for hiking, climbing and camping gear, founded in "
    "2019 in Rotterdam."
)


@pytest.mark.parametrize(
    ("claim", "sentence", "verdict"),
    [
        ("The shop was founded in 2019 in Rotterdam.", FOUNDED, SUPPORTS),
        ("Every product carries a three-year warranty.", WARRANTY, REFUTES),
        ("Every product carries a 2-year warranty.", WARRANTY, SUPPORTS),
        ("The shop was founded in 2018 in Rotterdam.", FOUNDED, REFUTES),
        ("Express delivery costs 9.95 EUR.", "Express delivery costs 12.95 EUR.", REFUTES),
        # a negation on one side, a word the sentence lacks, another unit: left to the model
        ("Returns are free.", "Returns are not free.", None),
        ("The shop was founded in 2019 in Utrecht.", FOUNDED, None),
        ("Delivery takes 3 days.", "Delivery costs 3 EUR and takes a while.", None),
    ],
)
def test_a_sentence_restating_a_claim_decides_it_without_a_model(claim, sentence, verdict):
    assert restates(claim, sentence) == verdict
