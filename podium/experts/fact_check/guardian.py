"""``FactCheckGuardian``: at ``guard_out``, flags answers with claims the run's evidence refutes.

The answer is split into claims; each is checked against the material the run gathered (the
steps' evidence, rows and outputs). A claim is reported when the verifier calls it refuted
with at least ``min_confidence``. Answers with no gathered evidence are allowed untouched (and
cost nothing: no model is loaded).
"""

from __future__ import annotations

import asyncio
from typing import Any

from podium.guardians.base import GuardInput, Stage, Verdict

from .checker import ClaimCheck, FactChecker, Source, cross_verify
from .claims import split_claims
from .expert import gather
from .verifier import Verifier


class FactCheckGuardian:
    """Grounding check of the final answer (implements the Guardian protocol, stage "out").

    Args:
        verifier: as for :class:`~.expert.FactCheckExpert` (default: the shipped weights).
        min_confidence: refuted claims at or above this confidence are reported.
        block: withhold the answer instead of flagging it.
        large: a chat model that re-checks refutations under ``threshold`` (None: off).
    """

    name = "fact_check"
    stages: tuple[Stage, ...] = ("out",)
    budget_ms = 30_000.0  # the first call may load the encoder (seconds on a busy CPU)

    def __init__(
        self,
        verifier: Verifier | str | None = None,
        *,
        min_confidence: float = 0.5,
        block: bool = False,
        large: Any = None,
        threshold: float = 0.6,
    ) -> None:
        self.checker = FactChecker(verifier)
        self.min_confidence = min_confidence
        self.block = block
        self.large = large
        self.threshold = threshold

    async def inspect(self, item: GuardInput) -> Verdict:
        sources = evidence_of(item)
        claims = split_claims(item.text)
        if not sources or not claims:
            why = "no evidence gathered" if not sources else "no checkable claims"
            return Verdict(guardian=self.name, action="allow", category="grounding", reason=why)
        checks = await asyncio.to_thread(self._check, claims, sources)
        refuted = [
            c for c in checks if c.label == "REFUTES" and c.confidence >= self.min_confidence
        ]
        model = self.checker.verifier.name
        if not refuted:
            n = sum(c.label == "SUPPORTS" for c in checks)
            return Verdict(
                guardian=self.name,
                action="allow",
                category="grounding",
                reason=f"{n} of {len(checks)} claims supported, none refuted",
                model=model,
            )
        worst = max(refuted, key=lambda c: c.confidence)
        others = f" (+{len(refuted) - 1} more)" if len(refuted) > 1 else ""
        where = f" [{worst.source}]" if worst.source else ""
        return Verdict(
            guardian=self.name,
            action="block" if self.block else "flag",
            category="contradicted_claim",
            score=worst.confidence,
            reason=f'"{worst.claim}" is contradicted by "{worst.evidence}"{where}{others}',
            model=model,
        )

    def _check(self, claims: list[str], sources: list[Source]) -> list[ClaimCheck]:
        checks = self.checker.check(claims, sources)
        if self.large is not None:
            for c in checks:
                if c.label == "REFUTES" and c.confidence < self.threshold:
                    cross_verify(c, self.large, self.threshold)
        return checks


def evidence_of(item: GuardInput) -> list[Source]:
    """The run's material as the guardian sees it: each step's evidence (else its output),
    and any evidence passed in directly; fact-check verdicts and the answer itself excluded."""
    results = {
        k: v
        for k, v in item.results.items()
        if not (isinstance(v, dict) and v.get("expert") == "fact_check")
    }
    sources = gather(results) + [
        Source(str(e["text"]), str(e.get("source", "")))
        for e in item.evidence
        if isinstance(e, dict) and e.get("text") and e.get("kind") != "claim"
    ]
    answer = item.text.strip()
    return [s for s in sources if s.text.strip() and s.text.strip() != answer]
