"""The large model as a fact-check judge: one verdict on one (claim, evidence sentence) pair,
constrained to the three labels, optionally with the small verifier's verdict as a hint.

On a local llama.cpp model (the ladder's 1.5B) nothing is generated: one forward pass over the
prompt, and each label's probability is the softmax mass of the first tokens a grammar over the
three labels (:func:`~podium.orchestrator.collaboration.llm.choice_grammar`) would admit for it
("S…", "REF…", "NOT…"), i.e. the constrained first decoding step, read as a distribution. The
claim and evidence come before the hint so that llama.cpp keeps the shared prefix in its cache
(a claim's five sentences share the instructions and the claim; the hinted prompt shares all
but its last line with the unhinted one). Any other chat model is asked the same question and
its reply read (the closest label, probability 1).
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from podium.models.llama_logits import chatml, loaded_llama, logsumexp, next_token_logits

from .labels import LABELS

WORDINGS = {
    "plain": (
        "You check claims against evidence. Does the evidence support the claim, refute it, "
        "or neither? Answer with exactly one of: SUPPORTS, REFUTES, NOT_ENOUGH_INFO."
    ),
    "defined": (
        "You check a claim against one evidence sentence, judging only by that sentence.\n"
        "SUPPORTS: the sentence says the claim is true.\n"
        "REFUTES: the sentence says the claim is false, or states something that cannot be "
        "true together with the claim.\n"
        "NOT_ENOUGH_INFO: the sentence is about something else, or does not settle the claim.\n"
        "Answer with exactly one of: SUPPORTS, REFUTES, NOT_ENOUGH_INFO."
    ),
}
WORDING = "plain"  # chosen on calibration claims (BENCHMARKS.md, "Fact checking")
HINT = "A small verifier, unsure on this pair, guessed: {hint}."
MAX_EVIDENCE_CHARS = 700
_FIRST: dict[int, list[list[int]]] = {}
_FIRST_LOCK = threading.Lock()


def messages(
    claim: str, evidence: str, hint: str | None = None, wording: str = WORDING
) -> list[dict[str, str]]:
    """The chat messages for one pair: instructions, claim, evidence, then the hint."""
    user = f"Claim: {claim}\n\nEvidence: {evidence[:MAX_EVIDENCE_CHARS]}"
    if hint:
        user += "\n\n" + HINT.format(hint=hint)
    return [{"role": "system", "content": WORDINGS[wording]}, {"role": "user", "content": user}]


@dataclass(frozen=True)
class Calibration:
    """The judge's raw label mass, calibrated on calibration claims (never the reported ones):
    ``softmax(log p / temperature + bias)``; decisions re-weight those probabilities by
    ``weights`` (the inverse class frequency of the calibration pairs: balanced decisions, as
    the small verifiers make them)."""

    temperature: float = 1.0
    bias: tuple[float, float, float] = (0.0, 0.0, 0.0)
    weights: tuple[float, float, float] = (1.0, 1.0, 1.0)

    def probs(self, raw: np.ndarray) -> np.ndarray:
        from .labels import softmax

        z = np.log(np.clip(np.asarray(raw, dtype=np.float64), 1e-9, 1.0))
        return softmax(z / self.temperature + np.asarray(self.bias))

    def decide(self, probs: np.ndarray) -> np.ndarray:
        return np.argmax(np.asarray(probs) * np.asarray(self.weights), axis=1)

    @classmethod
    def fit(cls, raw: np.ndarray, y: np.ndarray) -> Calibration:
        from .train import _calibrate

        z = np.log(np.clip(np.asarray(raw, dtype=np.float64), 1e-9, 1.0))
        t, b = _calibrate(z, np.asarray(y))
        prior = np.bincount(y, minlength=3) / len(y)
        w = 1.0 / np.maximum(prior, 1e-3)
        w = w / w.sum()
        return cls(
            round(t, 4),
            (round(float(b[0]), 4), round(float(b[1]), 4), round(float(b[2]), 4)),
            (round(float(w[0]), 4), round(float(w[1]), 4), round(float(w[2]), 4)),
        )


RAW = Calibration()
# Fitted by ``benchmarks/fact_check.py --only cascade`` on the 150 pairs of 30 calibration
# claims, for the shipped wording and the ladder's 1.5B model (BENCHMARKS.md, "Fact checking").
CALIBRATION = Calibration(1.2616, (0.1077, -2.2315, 0.0), (0.2972, 0.6142, 0.0886))


@dataclass(frozen=True)
class Judgement:
    label: str  # the calibrated decision
    probs: tuple[float, float, float]  # calibrated, in LABELS order
    raw: tuple[float, float, float]  # the model's own label mass
    new_tokens: int  # prompt tokens the model evaluated (the rest came from its cache)


def _judgement(raw: np.ndarray, calibration: Calibration, new_tokens: int) -> Judgement:
    probs = calibration.probs(raw[None, :])
    label = LABELS[int(calibration.decide(probs)[0])]
    p = probs[0]
    return Judgement(
        label,
        (float(p[0]), float(p[1]), float(p[2])),
        (float(raw[0]), float(raw[1]), float(raw[2])),
        new_tokens,
    )


class LargeJudge:
    """Judges (claim, evidence) pairs with a chat model (for the ladder:
    ``ModelProvider().base_chat(role="large")``)."""

    def __init__(
        self, model: Any, wording: str = WORDING, calibration: Calibration = CALIBRATION
    ) -> None:
        if wording not in WORDINGS:
            raise ValueError(f"unknown judge wording {wording!r}; one of {sorted(WORDINGS)}")
        self.model = model
        self.wording = wording
        self.calibration = calibration
        self.calls = 0
        self.input_tokens = 0

    def __call__(self, claim: str, evidence: str, hint: str | None = None) -> Judgement:
        msgs = messages(claim, evidence, hint, self.wording)
        loaded = loaded_llama(self.model)
        self.calls += 1
        out = self._logits(loaded, msgs) if loaded is not None else self._reply(msgs)
        self.input_tokens += out.new_tokens
        return out

    # -- llama.cpp: the constrained first step's mass per label ----------------------------

    def _logits(self, loaded: Any, msgs: list[dict[str, str]]) -> Judgement:
        logits, evaluated = next_token_logits(loaded, chatml(msgs))
        first = self._first_tokens(loaded.llama)
        mass = np.array([logsumexp(logits[ids]) for ids in first])
        p = np.exp(mass - mass.max())
        return _judgement(p / p.sum(), self.calibration, evaluated)

    @staticmethod
    def _first_tokens(llama: Any) -> list[list[int]]:
        """For each label, the vocabulary tokens that are a non-empty prefix of it (once per
        loaded model: a scan of the vocabulary)."""
        with _FIRST_LOCK:
            if id(llama) not in _FIRST:
                found: list[list[int]] = [[] for _ in LABELS]
                for tid in range(llama.n_vocab()):
                    try:
                        text = llama.detokenize([tid]).decode("utf-8")
                    except UnicodeDecodeError:
                        continue
                    if not text:
                        continue
                    for k, label in enumerate(LABELS):
                        if label.startswith(text):
                            found[k].append(tid)
                _FIRST[id(llama)] = found
            return _FIRST[id(llama)]

    # -- any other chat model: read its answer ---------------------------------------------

    def _reply(self, msgs: list[dict[str, str]]) -> Judgement:
        from langchain_core.messages import HumanMessage, SystemMessage

        reply = self.model.invoke(
            [SystemMessage(msgs[0]["content"]), HumanMessage(msgs[1]["content"])]
        )
        label = closest_label(str(getattr(reply, "content", reply)))
        hot = [float(lb == label) for lb in LABELS]
        p = (hot[0], hot[1], hot[2])
        return Judgement(label, p, p, 0)  # a stated label: no probabilities to calibrate


@dataclass
class Escalation:
    """The cascade: pairs whose small verdict's calibrated confidence is under ``threshold``
    go to ``judge`` (with that verdict as a hint when ``hint``), least confident first, at most
    ``budget`` calls; the judge's probabilities replace the small verifier's for those pairs.
    ``threshold=inf, hint=False`` is the large model judging alone."""

    judge: Callable[[str, str, str | None], Judgement]
    threshold: float
    budget: int
    hint: bool = True
    calls: int = 0
    judged: dict[int, str] = field(default_factory=dict)  # pair row -> the judge's label

    def apply(
        self,
        claims: Sequence[str],
        evidences: Sequence[str],
        probs: np.ndarray,
        decided: np.ndarray,
    ) -> tuple[np.ndarray, np.ndarray]:
        probs, decided = np.array(probs, dtype=np.float64), np.array(decided, copy=True)
        self.judged = {}
        conf = probs[np.arange(len(decided)), decided]
        for r in np.argsort(conf, kind="stable"):
            if conf[r] >= self.threshold or self.calls >= self.budget:
                break
            hint = LABELS[int(decided[r])] if self.hint else None
            out = self.judge(claims[r], evidences[r], hint)
            self.calls += 1
            probs[r] = out.probs
            decided[r] = LABELS.index(out.label)
            self.judged[int(r)] = out.label
        return probs, decided


def closest_label(text: str, labels: Sequence[str] = LABELS) -> str:
    """The label a free-text reply names first (``NOT ENOUGH INFO`` counts as the third)."""
    low = text.upper().replace(" ", "_")
    hits = [(low.find(lb), lb) for lb in labels if lb in low]
    if hits:
        return min(hits)[1]
    if "REFUT" in low or "CONTRADICT" in low:
        return "REFUTES"
    if "SUPPORT" in low or "ENTAIL" in low:
        return "SUPPORTS"
    return "NOT_ENOUGH_INFO"
