"""The one expected calibration error every report prints (experts, calibrators, training)."""

from __future__ import annotations

import numpy as np
import pytest

from podium.metrics import ece


def test_ece_is_zero_when_confidence_matches_accuracy_and_large_when_overconfident():
    conf = np.full(10, 0.8)
    assert ece(conf, np.array([1] * 8 + [0] * 2, dtype=bool)) == pytest.approx(0.0)
    assert ece(np.full(10, 0.95), np.zeros(10, dtype=bool)) == pytest.approx(0.95)


def test_ece_weights_each_bin_by_its_share_of_the_answers():
    # 0.9-confident and right half the time (gap 0.4, 2 of 4 answers); 0.2-confident and
    # wrong every time (gap 0.2, 2 of 4): 0.5 * 0.4 + 0.5 * 0.2.
    assert ece([0.9, 0.9, 0.2, 0.2], [True, False, False, False]) == pytest.approx(0.3)


def test_bins_are_closed_on_the_left_and_the_last_one_holds_a_confidence_of_one():
    # 0.5 opens [0.5, 0.6) rather than closing [0.4, 0.5) with 0.45: two bins of one answer
    # each (gaps 0.55 and 0.5), not one bin whose 0.475 confidence meets 0.5 accuracy.
    assert ece([0.45, 0.5], [True, False]) == pytest.approx(0.525)
    assert ece([0.5, 0.55], [True, False]) == pytest.approx(0.025)
    # A certain, right answer is perfectly calibrated; a certain, wrong one is all gap.
    assert ece([1.0], [True]) == 0.0
    assert ece([0.0], [True]) == pytest.approx(1.0)


def test_confidences_outside_zero_to_one_are_clipped():
    assert ece([1.7, -0.2], [True, False]) == 0.0


@pytest.mark.parametrize("conf, correct", [([], []), ([0.5, 0.6], [True])])
def test_ece_refuses_empty_or_mismatched_inputs(conf, correct):
    with pytest.raises(ValueError, match="as many confidences as outcomes"):
        ece(conf, correct)
