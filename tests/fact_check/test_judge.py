"""The cascade's decision logic: which pairs the large model judges, with what hint, within
what budget (a scripted large model; the small verifier's probabilities are given)."""

from __future__ import annotations

import numpy as np

from podium.experts.fact_check.judge import Calibration, Escalation, LargeJudge, closest_label
from podium.experts.fact_check.labels import LABELS, NEI, REFUTES, SUPPORTS

from ..scripted import RuleChatModel

CLAIMS = ["Arctic sea ice has grown since 1979.", "Arctic sea ice has grown since 1979."]
EVIDENCE = [
    "Arctic sea ice extent has declined by about 13 percent per decade since 1979.",
    "Polar bears hunt seals on the sea ice.",
]


class Recorder:
    """A large model that answers REFUTES and keeps every prompt it was shown."""

    def __init__(self, reply: str = "REFUTES") -> None:
        self.prompts: list[str] = []
        self.model = RuleChatModel(rule=self._answer)
        self.reply = reply

    def _answer(self, messages):
        self.prompts.append("\n".join(str(m.content) for m in messages))
        return self.reply


def _probs(*rows: tuple[float, float, float]) -> np.ndarray:
    return np.array(rows, dtype=np.float32)


def test_a_confident_small_verdict_makes_no_large_call():
    large = Recorder()
    cascade = Escalation(LargeJudge(large.model), threshold=0.6, budget=8)
    probs = _probs((0.9, 0.05, 0.05), (0.05, 0.05, 0.9))
    out, decided = cascade.apply(CLAIMS, EVIDENCE, probs, np.array([SUPPORTS, NEI]))
    assert cascade.calls == 0 and large.prompts == []
    assert decided.tolist() == [SUPPORTS, NEI]
    assert np.allclose(out, probs)


def test_an_unsure_pair_goes_to_the_large_model_with_the_small_verdict_as_hint():
    large = Recorder("REFUTES")
    cascade = Escalation(LargeJudge(large.model), threshold=0.6, budget=8)
    probs = _probs((0.45, 0.35, 0.2), (0.05, 0.05, 0.9))
    out, decided = cascade.apply(CLAIMS, EVIDENCE, probs, np.array([SUPPORTS, NEI]))
    assert cascade.calls == 1
    (prompt,) = large.prompts
    assert CLAIMS[0] in prompt and EVIDENCE[0] in prompt
    assert "guessed: SUPPORTS" in prompt  # the small verdict, as a hint
    assert decided.tolist() == [REFUTES, NEI]  # the large model overrules; the sure pair stays
    assert out[0].tolist() == [0.0, 1.0, 0.0]
    assert cascade.judged == {0: "REFUTES"}


def test_with_the_budget_spent_the_small_verdicts_stand_and_the_least_sure_goes_first():
    large = Recorder("NOT_ENOUGH_INFO")
    cascade = Escalation(LargeJudge(large.model), threshold=0.6, budget=1)
    probs = _probs((0.5, 0.3, 0.2), (0.1, 0.45, 0.45))  # the second is the less sure
    _, decided = cascade.apply(CLAIMS, EVIDENCE, probs, np.array([SUPPORTS, NEI]))
    assert cascade.calls == 1 and len(large.prompts) == 1
    assert EVIDENCE[1] in large.prompts[0]
    assert decided.tolist() == [SUPPORTS, NEI]  # first: kept (no budget); second: judged

    spent = Escalation(LargeJudge(Recorder().model), threshold=0.6, budget=0)
    _, decided = spent.apply(CLAIMS, EVIDENCE, probs, np.array([SUPPORTS, NEI]))
    assert spent.calls == 0 and decided.tolist() == [SUPPORTS, NEI]


def test_a_free_text_reply_is_read_as_the_label_it_names():
    assert closest_label("REFUTES") == "REFUTES"
    assert closest_label("The answer is: not enough info.") == "NOT_ENOUGH_INFO"
    assert closest_label("It is supported by the evidence") == "SUPPORTS"
    assert closest_label("contradicted") == "REFUTES"
    assert closest_label("no idea") == "NOT_ENOUGH_INFO"
    assert set(LABELS) == {"SUPPORTS", "REFUTES", "NOT_ENOUGH_INFO"}


def test_calibration_corrects_a_judge_that_overstates_one_label():
    # The judge's raw mass leans to REFUTES whatever the truth (as the 1.5B's does); the
    # calibration fitted on labelled pairs turns that lean back into balanced decisions.
    rng = np.random.default_rng(0)
    y = np.repeat([SUPPORTS, REFUTES, NEI], [30, 10, 60])
    raw = np.full((len(y), 3), 0.2)
    raw[np.arange(len(y)), y] += 0.25  # some signal for the true label
    raw[:, REFUTES] += 0.35 + rng.uniform(0, 0.1, len(y))  # and a lean to REFUTES
    raw /= raw.sum(axis=1, keepdims=True)
    assert (raw.argmax(1) == REFUTES).all()
    fitted = Calibration.fit(raw, y)
    decided = fitted.decide(fitted.probs(raw))
    assert (decided == y).mean() > 0.9
    assert np.allclose(fitted.probs(raw).sum(axis=1), 1.0)


def test_the_large_model_alone_judges_every_pair_without_a_hint():
    large = Recorder("SUPPORTS")
    alone = Escalation(LargeJudge(large.model), threshold=float("inf"), budget=8, hint=False)
    probs = _probs((0.05, 0.05, 0.9), (0.05, 0.9, 0.05))  # even confident pairs
    _, decided = alone.apply(CLAIMS, EVIDENCE, probs, np.array([NEI, REFUTES]))
    assert alone.calls == 2
    assert not any("guessed" in p for p in large.prompts)
    assert decided.tolist() == [SUPPORTS, SUPPORTS]
