"""Checking claims against evidence: pick the evidence sentences that name each claim's facts
(:mod:`.evidence`), let the verifier score every (claim, sentence) pair, and reduce those to
one verdict per claim.

Shared by :class:`~.expert.FactCheckExpert` and :class:`~.guardian.FactCheckGuardian`.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterable, Sequence
from dataclasses import asdict, dataclass, field
from typing import Any

import numpy as np

from . import evidence as select
from .claims import _sentences
from .judge import Escalation
from .labels import LABELS, NEI, REFUTES, SUPPORTS
from .restatement import restates
from .verifier import TrainedVerifier, Verifier, load_verifier

MAX_UNIT_CHARS = 600
# How often a restatement rule was right where it fired on Climate-FEVER: 9 of 10 pairs
# (BENCHMARKS.md, Fact checking).
RULE_CONFIDENCE = 0.9
MAX_UNITS = 400


@dataclass(frozen=True)
class Source:
    """One piece of gathered material: a passage, rows, a step's output."""

    text: str
    source: str = ""


@dataclass
class ClaimCheck:
    """The verdict on one claim, the evidence it rests on, and how it was reached."""

    claim: str
    label: str  # SUPPORTS | REFUTES | NOT_ENOUGH_INFO
    confidence: float
    evidence: str = ""
    source: str = ""
    probs: dict[str, float] = field(default_factory=dict)
    method: str = "slm"  # slm | slm+llm | rule
    llm_label: str | None = None
    outcome: str | None = None  # agreed | overruled (when a large model also verified)

    def as_dict(self) -> dict[str, Any]:
        return {k: v for k, v in asdict(self).items() if v is not None}


_STANDALONE = re.compile(r"^(?:#|[-*•|>]|\d+[.)]\s|[\w ]{1,40}:\s)")


def _blocks(text: str) -> list[str]:
    """Lines of prose joined back into paragraphs (documents are often wrapped at ~90
    characters); headings, bullets, table rows and ``col: value`` rows stay lines of their own."""
    out: list[str] = []
    prose: list[str] = []
    for raw in [*text.splitlines(), ""]:
        line = raw.strip()
        if line and not _STANDALONE.match(line):
            prose.append(line)
            continue
        if prose:
            out.append(" ".join(prose))
            prose = []
        if line:
            out.append(line)
    return out


def units(sources: Iterable[Source]) -> list[Source]:
    """Evidence sentences: paragraphs are cut into sentences, row lists into rows."""
    out: list[Source] = []
    seen: set[str] = set()
    for src in sources:
        for block in _blocks(src.text):
            for piece in _sentences(block):
                piece = piece.strip()[:MAX_UNIT_CHARS]
                if len(re.findall(r"\w+", piece)) >= 3 and piece not in seen:
                    seen.add(piece)
                    out.append(Source(piece, src.source))
    return out[:MAX_UNITS]


def render(value: Any) -> str:
    """Any step output as lines of text (rows as ``col: value, ...``)."""
    if value is None:
        return ""
    if isinstance(value, str):
        return value
    if isinstance(value, dict) and "rows" in value and isinstance(value["rows"], list):
        cols = value.get("columns") or []
        lines = []
        for row in value["rows"][:50]:
            if isinstance(row, dict):
                lines.append(", ".join(f"{k}: {v}" for k, v in row.items()))
            elif isinstance(row, list | tuple) and cols:
                lines.append(", ".join(f"{c}: {v}" for c, v in zip(cols, row, strict=False)))
            else:
                lines.append(json.dumps(row, default=str))
        return "\n".join(lines)
    return json.dumps(value, ensure_ascii=False, default=str)


class FactChecker:
    """Verifies claims against evidence with a :class:`~.verifier.Verifier`.

    Args:
        verifier: a verifier or a spec for :func:`~.verifier.load_verifier` (default: shipped).
        top_k: evidence sentences scored per claim (closest by cosine, with a bonus for
            naming the claim's numbers and names: :func:`.evidence.rank`).
        gate: a sentence decides SUPPORTS / REFUTES only if it names the claim's facts
            (:func:`.evidence.admissible`); otherwise it counts as not enough information.
        rules: a sentence that restates the claim, or restates it with another number for
            the same quantity, decides it without the verifier (:mod:`.restatement`).
    """

    def __init__(
        self,
        verifier: Verifier | str | None = None,
        top_k: int = 4,
        gate: bool = True,
        rules: bool = True,
    ) -> None:
        self._verifier = verifier if not isinstance(verifier, str | None) else None
        self._spec = verifier if isinstance(verifier, str) else None
        self.top_k = top_k
        self.gate = gate
        self.rules = rules

    @property
    def verifier(self) -> Verifier:
        if self._verifier is None:
            self._verifier = load_verifier(self._spec)
        return self._verifier

    def check(
        self,
        claims: Sequence[str],
        sources: Sequence[Source],
        escalation: Escalation | None = None,
    ) -> list[ClaimCheck]:
        """One verdict per claim. With ``escalation``, the pairs the verifier is unsure of are
        judged by a large model first (:class:`.judge.Escalation`)."""
        evidence = units(sources)
        if not claims:
            return []
        if not evidence:
            return [ClaimCheck(c, LABELS[NEI], 1.0) for c in claims]
        pairs, known = self._nearest(claims, evidence)
        flat = [(ci, ei) for ci, eis in enumerate(pairs) for ei in eis]
        pair_claims = [claims[ci] for ci, _ in flat]
        pair_evidence = [evidence[ei].text for _, ei in flat]
        if isinstance(self.verifier, TrainedVerifier) and self.verifier.head.encoder == self._enc:
            probs = self.verifier.predict(pair_claims, pair_evidence, known)
        else:
            probs = self.verifier.predict(pair_claims, pair_evidence)
        decided = self.verifier.decide(probs)
        if escalation is not None:
            probs, decided = escalation.apply(pair_claims, pair_evidence, probs, decided)
        out = []
        for ci, claim in enumerate(claims):
            rows = [r for r, (c, _) in enumerate(flat) if c == ci]
            ids = [flat[r][1] for r in rows]
            mine = decided[rows]
            if self.gate:
                mine = select.gate(claim, [evidence[i].text for i in ids], mine)
            mine_probs, ruled = probs[rows], list[int]()
            if self.rules:
                texts = [evidence[i].text for i in ids]
                mine_probs, ruled = _restated(claim, texts, mine_probs, mine)
            check = self._reduce(claim, mine_probs, mine, ids, evidence)
            if any(evidence[ids[j]].text == check.evidence for j in ruled):
                check.method = "rule"
            judged = [r for r in rows if escalation is not None and r in escalation.judged]
            if judged and escalation is not None:
                check.method = "slm+llm"
                deciding = next(
                    (r for r in rows if evidence[flat[r][1]].text == check.evidence), None
                )
                check.llm_label = escalation.judged.get(deciding) if deciding is not None else None
            out.append(check)
        return out

    @property
    def _enc(self) -> str:
        head = getattr(self.verifier, "head", None)
        return str(getattr(head, "encoder", "local:minilm"))

    def _nearest(
        self, claims: Sequence[str], evidence: list[Source]
    ) -> tuple[list[list[int]], dict[str, np.ndarray]]:
        """The ``top_k`` evidence sentences worth checking for each claim, and every text's
        vector."""
        from podium.models.embeddings import load_embedder

        texts = list(dict.fromkeys([*claims, *(e.text for e in evidence)]))
        vectors = dict(zip(texts, load_embedder(self._enc).encode(texts), strict=True))
        sims = (
            np.stack([vectors[c] for c in claims]) @ np.stack([vectors[e.text] for e in evidence]).T
        )
        k = min(self.top_k, len(evidence))
        texts_e = [e.text for e in evidence]
        return [
            select.rank(c, texts_e, row, k) for c, row in zip(claims, sims, strict=True)
        ], vectors

    @staticmethod
    def _reduce(
        claim: str,
        probs: np.ndarray,
        decided: np.ndarray,
        ids: list[int],
        evidence: list[Source],
    ) -> ClaimCheck:
        """A claim is refuted or supported by its most confident deciding sentence; with none,
        there is not enough information (confidence: that no sentence supports or refutes)."""
        best, best_p = None, 0.0
        for r, label in enumerate(decided):
            if label in (SUPPORTS, REFUTES) and probs[r, label] > best_p:
                best, best_p = r, float(probs[r, label])
        if best is None:  # show the sentence that came closest to deciding
            best = int(np.argmax(probs[:, [SUPPORTS, REFUTES]].max(axis=1)))
            label_id, conf = NEI, float(probs[:, NEI].min())
        else:
            label_id, conf = int(decided[best]), best_p
        src = evidence[ids[best]]
        return ClaimCheck(
            claim=claim,
            label=LABELS[label_id],
            confidence=round(conf, 4),
            evidence=src.text,
            source=src.source,
            probs={LABELS[i]: round(float(probs[best, i]), 4) for i in range(3)},
        )


def _restated(
    claim: str, sentences: Sequence[str], probs: np.ndarray, decided: np.ndarray
) -> tuple[np.ndarray, list[int]]:
    """The pairs a rule decides (:mod:`.restatement`) take its verdict, in place in
    ``decided``, with :data:`RULE_CONFIDENCE` as its probability; returns the probabilities and
    which pairs were ruled."""
    out = np.array(probs, copy=True)
    ruled = []
    for j, sentence in enumerate(sentences):
        label = restates(claim, sentence)
        if label is None:
            continue
        decided[j] = label
        out[j] = (1.0 - RULE_CONFIDENCE) / 2
        out[j, label] = RULE_CONFIDENCE
        ruled.append(j)
    return out, ruled


# -- cross-verification with a large model ------------------------------------------------

VERIFY_PROMPT = (
    "Does the evidence support the claim, refute it, or neither?\n"
    "Evidence: {evidence}\nClaim: {claim}\n"
    "Answer with exactly one of: SUPPORTED, REFUTED, NOT ENOUGH INFO."
)


def parse_label(text: str) -> str | None:
    t = text.upper()
    if "NOT ENOUGH" in t or "NEITHER" in t or "UNKNOWN" in t:
        return LABELS[NEI]
    if "REFUT" in t or "CONTRADICT" in t or "FALSE" in t:
        return LABELS[REFUTES]
    if "SUPPORT" in t or "TRUE" in t or "ENTAIL" in t:
        return LABELS[SUPPORTS]
    return None


def cross_verify(check: ClaimCheck, chat: Any, threshold: float) -> ClaimCheck:
    """The large model verifies a claim the small one was unsure of; the two are reconciled.

    Agreement keeps the label and lifts the confidence to ``threshold``; disagreement lets the
    large model overrule, with confidence ``threshold`` (a stated policy, not a calibrated
    probability). An unreadable reply leaves the small model's verdict.
    """
    evidence = check.evidence or "(none)"
    reply = chat.invoke(VERIFY_PROMPT.format(evidence=evidence, claim=check.claim))
    label = parse_label(str(getattr(reply, "content", reply)))
    if label is None:
        return check
    check.method, check.llm_label = "slm+llm", label
    if label == check.label:
        check.outcome, check.confidence = "agreed", max(check.confidence, threshold)
    else:
        check.outcome, check.label, check.confidence = "overruled", label, threshold
    return check
