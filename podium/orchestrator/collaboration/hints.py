"""SLM hints (as in SuperICL): small experts' predictions and confidences in the large
model's prompt, in one typed, documented format, with a switch to turn them off.

The block the large model reads, one line per hint::

    Predictions from small expert models (confidence in [0, 1]; they can be wrong):
    - fact_check: SUPPORTS (confidence 0.82)
      evidence: Global temperatures rose 1.1 C since 1880.

Hints never replace the task; they are context the large model may follow or overrule.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

from pydantic import BaseModel, Field

from podium.experts.base import ExpertResult

HEADER = "Predictions from small expert models (confidence in [0, 1]; they can be wrong):"


class SLMHint(BaseModel):
    """One small expert's prediction, as the large model sees it."""

    expert: str = Field(min_length=1, description="Which small expert predicted this.")
    prediction: str = Field(description="Its answer, as short text.")
    confidence: float = Field(ge=0.0, le=1.0, description="Its (calibrated) confidence.")
    evidence: list[str] = Field(default_factory=list, description="At most a few snippets.")


def hint_from_result(expert: str, result: ExpertResult, max_chars: int = 300) -> SLMHint | None:
    """The hint a result gives (None for a failed result: no hint beats a wrong one)."""
    if not result.ok:
        return None
    return SLMHint(
        expert=expert,
        prediction=result.text(max_chars),
        confidence=result.confidence,
        evidence=[e.text[:max_chars] for e in result.evidence[:2]],
    )


def hints_from_results(results: Mapping[str, ExpertResult]) -> list[SLMHint]:
    return [h for name, r in results.items() if (h := hint_from_result(name, r)) is not None]


def render_hints(hints: Sequence[SLMHint]) -> str:
    """The hint block (empty string when there are no hints)."""
    if not hints:
        return ""
    lines = [HEADER]
    for h in hints:
        lines.append(f"- {h.expert}: {h.prediction} (confidence {h.confidence:.2f})")
        lines += [f"  evidence: {e}" for e in h.evidence]
    return "\n".join(lines)


def with_hints(prompt: str, hints: Sequence[SLMHint], *, enabled: bool = True) -> str:
    """``prompt`` followed by the hint block when ``enabled`` (the ablation switch)."""
    block = render_hints(hints) if enabled else ""
    return f"{prompt}\n\n{block}" if block else prompt
