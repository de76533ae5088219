import asyncio

import numpy as np
import pytest

from podium.experts.base import ExpertContext, TextRequest
from podium.orchestrator.collaboration import (
    Calibrator,
    DecisionLedger,
    cascade,
    ece,
    fit_calibrator,
    fit_threshold,
)

from .helpers import Scripted

REQ = TextRequest(text="label this claim")


def overconfident(n: int = 400, seed: int = 0) -> tuple[np.ndarray, np.ndarray]:
    """Confidences near 0.9 whose answers are right only as often as sqrt-shrunk says."""
    rng = np.random.default_rng(seed)
    conf = rng.uniform(0.5, 1.0, n)
    truth = (conf - 0.5) * 1.2 + 0.2  # really right 20 %..80 % of the time
    return conf, rng.uniform(size=n) < truth


@pytest.mark.parametrize("method", ["isotonic", "temperature"])
def test_calibration_lowers_ece_on_held_out_halves(method: str, tmp_path) -> None:
    conf, correct = overconfident()
    cal = fit_calibrator(conf, correct, method=method)
    assert cal.report["ece_after"] < cal.report["ece_before"] / 2
    assert cal.report["ece_before"] == pytest.approx(ece(conf, correct), abs=1e-4)
    again = Calibrator.load(cal.save(tmp_path / "cal.json"))
    assert again(0.9) == pytest.approx(cal(0.9))


def test_calibration_refuses_too_little_data() -> None:
    with pytest.raises(ValueError, match="at least 4"):
        fit_calibrator([0.5, 0.6], [True, False])


def test_threshold_fit_to_a_target_accuracy_escalates_as_little_as_needed() -> None:
    conf = [0.95, 0.9, 0.85, 0.6, 0.55, 0.3]
    small = [True, True, True, False, True, False]
    large = [True, True, True, True, True, True]
    t = fit_threshold(conf, small, large, target_accuracy=1.0)
    assert t.value == 0.85 + 0 * t.value or t.value == pytest.approx(0.85)
    assert t.escalation_rate == pytest.approx(0.5) and t.expected_accuracy == 1.0
    looser = fit_threshold(conf, small, large, target_accuracy=0.8)
    assert looser.escalation_rate < t.escalation_rate and looser.reached


def test_threshold_fit_to_a_budget_stays_within_it() -> None:
    conf = [0.95, 0.9, 0.85, 0.6, 0.55, 0.3]
    small = [True, True, True, False, True, False]
    large = [True, False, True, True, False, True]
    t = fit_threshold(conf, small, large, budget=1 / 3)
    assert t.escalation_rate <= 1 / 3
    assert t.expected_accuracy == pytest.approx(5 / 6)  # escalate 0.6 and 0.3, keep 0.55
    with pytest.raises(ValueError, match="exactly one"):
        fit_threshold(conf, small)


def test_cascade_accepts_sure_answers_and_escalates_unsure_ones_with_a_ledger() -> None:
    ledger = DecisionLedger()
    large = Scripted("large", "BIG")
    sure, unsure = Scripted("s", "small", confidence=0.9), Scripted("s", "small", confidence=0.2)
    kept = asyncio.run(cascade(sure, large, REQ, ExpertContext(), threshold=0.5, ledger=ledger))
    up = asyncio.run(cascade(unsure, large, REQ, ExpertContext(), threshold=0.5, ledger=ledger))
    assert kept.output == "small" and up.output == "BIG" and len(large.calls) == 1
    assert up.details["collaboration"]["small_output"] == "small"
    assert ledger.summary() == {
        "decisions": 2,
        "large_calls": 1,
        "saved_large_calls": 1,
        "by_decision": {"cascade:accepted": 1, "cascade:escalated": 1},
    }


def test_cascade_uses_the_calibrator_stored_on_the_expert() -> None:
    large = Scripted("large", "BIG")
    small = Scripted("s", "small", confidence=0.9)
    # This expert is badly overconfident: 0.9 really means 0.3.
    small.calibrator = Calibrator(method="isotonic", xs=[0.0, 1.0], ys=[0.0, 0.33])
    out = asyncio.run(cascade(small, large, REQ, ExpertContext(), threshold=0.5))
    assert out.output == "BIG"
    assert out.details["collaboration"]["calibrated"] == pytest.approx(0.297, abs=1e-3)


def test_a_failing_small_expert_escalates() -> None:
    large = Scripted("large", "BIG")
    out = asyncio.run(
        cascade(Scripted("s", None, fail=True), large, REQ, ExpertContext(), threshold=0.1)
    )
    assert out.output == "BIG"
    assert "broke" in out.details["collaboration"]["extra"]["small_error"]
