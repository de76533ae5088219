"""The planner cascade: the semantic router plans the tasks it is sure of, the planner model
plans the rest.

Small and large collaborate at the planning level. Most tasks are one clear request, or a
few requests each plainly meant for one expert ("How many orders were placed in 2024, and
what is the return policy?"). For those, splitting the task into clauses and routing each
clause by embedding similarity gives the same plan the 1.5B planner would write, in tens of
milliseconds instead of tens of seconds. The planner model is asked only when the router is
not sure: a clause close to two experts, a clause no expert fits well, a clause that refers
back to another ("... and what is *their* average?"), a conversation whose follow-up must be
rewritten, or more clauses than a plan may have.

"Sure" is a margin: the best expert's similarity minus the runner-up's, for the weakest
clause. The default thresholds were fitted on the planning dev set
(``benchmarks/planning.py --cascade``): every task the router accepted at them it routed
right, so the cascade does not lower routing accuracy there.

A clause under the margin that passes every other check goes to a tie-breaker first, when
one is available (:mod:`.tiebreak`: the 0.5B drafting model picks among the router's top
experts). Its answer is taken only when it agrees with the router's best expert at a
probability of ``tiebreak_confidence`` or more; a different choice or a less sure one sends
the task to the planner model as before. On the dev set the small model's choices that
*differed* from the router were right four times and wrong three, the surest of them (p 0.97)
wrong, so it confirms the router and does not overrule it.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Protocol

from .plan import Plan, Step
from .semantic_router import Route, split_clauses
from .tiebreak import TieBreak, TieBreaker

# A later clause that points back at an earlier one needs the planner to connect them.
_BACK_REFERENCE = re.compile(
    r"\b(?:it|its|they|them|their|theirs|those|these|that one|this one|the same|the result)\b",
    re.I,
)


class Routes(Protocol):
    """What the cascade needs of a router (:class:`SemanticRouter` has it)."""

    def routes(self, texts: list[str]) -> list[Route]: ...


@dataclass(frozen=True)
class CascadeSettings:
    """When the router's own plan is used instead of asking the planner model."""

    enabled: bool = True
    # Fitted on benchmarks/data/planning_dev.jsonl (see the module docstring): the lowest
    # margin at which no accepted task was routed wrong, rounded up.
    min_margin: float = 0.30
    min_score: float = 0.45  # the best expert must also be a clearly plausible owner
    # A clause under ``min_margin`` is put to the tie-breaker (when there is one): accepted
    # when it picks the router's best of the ``tiebreak_options`` nearest experts with at
    # least this probability. Fitted like min_margin (benchmarks/planning.py --cascade): no
    # accepted task was routed wrong from 0.65; one task (p 0.61) decides that, so one step up.
    tiebreak: bool = True
    tiebreak_confidence: float = 0.70
    tiebreak_options: int = 2


@dataclass(frozen=True)
class RouterDecision:
    """The router's plan when it is sure of it (``plan`` set), or why the planner model is
    asked instead. ``confidence`` is the weakest clause's margin."""

    plan: Plan | None
    confidence: float
    reason: str
    tiebreaks: tuple[TieBreak, ...] = ()  # the tie-breaker's answers, in the order asked

    @property
    def accepted(self) -> bool:
        return self.plan is not None


def router_decision(
    router: Routes,
    task: str,
    *,
    max_steps: int,
    follow_up: bool = False,
    settings: CascadeSettings | None = None,
    tiebreaker: TieBreaker | None = None,
) -> RouterDecision:
    """Decide whether ``router`` can plan ``task`` alone (with ``tiebreaker``'s help on
    clauses close to two experts), and the plan if it can."""
    s = settings or CascadeSettings()
    if not s.enabled:
        return RouterDecision(None, 0.0, "the planner cascade is off")
    if follow_up:
        return RouterDecision(None, 0.0, "a follow-up in a conversation: the planner rewrites it")
    clauses = split_clauses(task)
    if len(clauses) > max_steps:
        return RouterDecision(None, 0.0, f"{len(clauses)} requests, more than {max_steps} steps")
    for clause in clauses[1:]:
        if _BACK_REFERENCE.search(clause):
            return RouterDecision(None, 0.0, f"{clause!r} refers to another request")
    routes = router.routes(clauses)
    weakest = min(range(len(routes)), key=lambda k: routes[k].margin)
    confidence = routes[weakest].margin
    for clause, route in zip(clauses, routes, strict=True):
        if route.score < s.min_score:
            return RouterDecision(
                None, confidence, f"no expert fits {clause!r} well ({route.score:.2f})"
            )
    # The closest clause first: the likeliest to send the task to the planner model anyway.
    close = sorted(
        (k for k, r in enumerate(routes) if r.margin < s.min_margin), key=lambda k: routes[k].margin
    )
    asked: list[TieBreak] = []
    for k in close:
        clause, route = clauses[k], routes[k]
        why = f"{clause!r} is close to two experts (margin {route.margin:.2f} < {s.min_margin:.2f})"
        options = (route.expert, *route.alternatives)[: s.tiebreak_options]
        if tiebreaker is None or not s.tiebreak or len(options) < 2:
            return RouterDecision(None, confidence, why, tuple(asked))
        try:
            answer = tiebreaker(clause, options)
        except Exception as exc:  # a tie-breaker is an optimisation: the planner model decides
            return RouterDecision(None, confidence, f"{why}; tie-breaker failed: {exc}")
        asked.append(answer)
        if answer.choice != route.expert or answer.confidence < s.tiebreak_confidence:
            return RouterDecision(
                None,
                confidence,
                f"{why}; {answer.describe()}, not the router's {route.expert} at "
                f"p >= {s.tiebreak_confidence:.2f}",
                tuple(asked),
            )
    plan = Plan(
        steps=[
            Step(id=f"s{i}", expert=route.expert, input=clause)
            for i, (clause, route) in enumerate(zip(clauses, routes, strict=True), 1)
        ],
        notes=[
            f"planned by the semantic router (margin {confidence:.2f})",
            *(f"tie-break: {a.describe()}" for a in asked),
        ],
    )
    if asked:
        return RouterDecision(
            plan,
            confidence,
            f"every request belongs to one expert; {len(asked)} close one(s) confirmed by the "
            f"small model (p >= {min(a.confidence for a in asked):.2f})",
            tuple(asked),
        )
    return RouterDecision(plan, confidence, "every request clearly belongs to one expert")
