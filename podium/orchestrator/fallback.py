"""A second expert for a request the first could not answer.

"When was the shop founded, and how many customers do we have?": the planner sent both
parts to the database expert. The database does not record a founding date, so that step
found nothing it could stand behind, and the answer said "I could not answer" although
``about.md`` says it in one sentence. The semantic router had scored the request nearly as
well for the document search (0.39 against 0.35): the planner's choice was a close call, and
the run had learned that it was the wrong one.

So when a step fails, or answers below the confidence an answer is stated at, the same
request goes once to the expert the router ranks next, if that expert is a near match too
(within ``fallback_margin`` of the step's own expert, or above it). A wh-question never goes
to a claim checker. Only steps no other step waits for are retried, each at most once, and
never past the run's step limit. The synthesizer then answers from whichever of the two it
can trust and reports the first one's failure only when neither answered (:func:`superseded`).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from .plan import Plan, Step
from .semantic_router import SemanticRouter, asks_for_information, next_step_id
from .state import StepOutcome


@dataclass(frozen=True)
class Fallback:
    """A step added for another step's request, and why."""

    step: Step
    replaces: str
    reason: str


def fallback_steps(
    plan: Plan,
    results: dict[str, StepOutcome],
    fallbacks: dict[str, str],
    router: Callable[[], SemanticRouter],
    *,
    min_confidence: float,
    max_steps: int,
) -> list[Fallback]:
    """The fallback steps to add now (module docstring); ``fallbacks`` maps the steps added
    so far to the steps they stand in for. ``router`` is called only when a request went
    unanswered: building it loads the encoder, which a resumed run in a new process (whose
    plan was checked in another) paid on every dispatch, ~10 s there."""
    waited_on = {d for step in plan.steps for d in step.depends_on}
    retried = set(fallbacks) | set(fallbacks.values())
    unanswered = [
        (step, results[step.id], reason)
        for step in plan.steps
        if step.id in results
        and step.id not in retried
        and step.id not in waited_on
        and (reason := _unanswered(results[step.id], min_confidence))
    ]
    if not unanswered:
        return []
    ranker = router()
    margin = ranker.settings.fallback_margin
    if margin is None:
        return []
    added: list[Fallback] = []
    steps = list(plan.steps)
    for step, outcome, reason in unanswered:
        if len(steps) >= max_steps:
            break
        if step.expert not in ranker.names:
            continue
        asked = outcome["input"] or step.input
        other = _next_best(ranker, asked, step.expert, margin)
        if other is None:
            continue
        new = Step(id=next_step_id(steps), expert=other, input=asked)
        steps.append(new)
        added.append(
            Fallback(
                new, step.id, f"{step.expert} did not answer {step.id} ({reason}); {other} tries"
            )
        )
    return added


def superseded(
    results: dict[str, StepOutcome], fallbacks: dict[str, str], min_confidence: float
) -> set[str]:
    """Steps whose answer is not to be reported: a failed or doubtful step whose fallback
    answered, and a fallback that did not (the first step's own failure says more)."""
    gone: set[str] = set()
    for new, old in fallbacks.items():
        outcome = results.get(new)
        if outcome is None:
            continue
        answered = _unanswered(outcome, min_confidence) is None
        gone.add(old if answered else new)
    return gone


def _unanswered(outcome: StepOutcome, min_confidence: float) -> str | None:
    """Why a step's result is no answer (None when it is one, or when it is a refusal, a
    rejection or a skip, which another expert would not change)."""
    if outcome["status"] == "failed":
        error = outcome.get("error") or "it failed"
        return None if error.startswith("rejected before running") else "it failed"
    if outcome["status"] != "ok":
        return None
    output = outcome.get("output")
    if isinstance(output, dict) and output.get("refused"):
        return None
    if outcome["confidence"] < min_confidence:
        return f"confidence {outcome['confidence']:.2f}"
    return None


def _next_best(router: SemanticRouter, text: str, expert: str, margin: float) -> str | None:
    """The router's best expert for ``text`` other than ``expert``, when it is a near match."""
    row = router.scores([text])[0]
    own = float(row[router.names.index(expert)])
    excluded = {expert}
    if asks_for_information(text):
        excluded |= set(router.settings.claims_only)
    candidates = [j for j, name in enumerate(router.names) if name not in excluded]
    if not candidates:
        return None
    best = max(candidates, key=lambda j: row[j])
    score = float(row[best])
    if score < router.settings.min_route_score or score < own - margin:
        return None
    return router.names[best]
