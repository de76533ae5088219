"""What learns from verified examples, on a CPU, and how each is put to use.

* ``nl2sql/fewshot`` — the verified question→SQL pairs join NL2SQL's few-shot pool, from which
  examples are retrieved per question (DAIL-style); scored by the small model's greedy
  few-shot answers on the held-back questions (same rows as the verified query).
* ``<expert>/calibrator`` — a confidence calibrator refit from the steps people judged good or
  bad; scored by expected calibration error on the held-back verdicts (lower is better, so
  the score is ``-ECE``). It is set as the expert's ``calibrator``, which the cascade and
  draft→finalise policies read.
* ``router/examples`` — accepted task clause → expert pairs become extra routing examples of
  the semantic router; scored by routing accuracy on the held-back pairs.
* ``fact_check/head`` and ``guard/head`` — the trained small heads, retrained on their
  training slices plus what was confirmed (:mod:`.heads`).
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterable
from pathlib import Path
from typing import TYPE_CHECKING, Any

from podium.errors import ConfigError
from podium.metrics import ece
from podium.orchestrator.collaboration.calibration import Calibrator, fit_calibrator

from .examples import GUARD, Example, ExampleStore
from .heads import (
    FACT_CHECK,
    attach_heads,
    confirmed_claims,
    confirmed_prompts,
    fact_check_component,
    guard_component,
    learned_dir,
    uses_trained_head,
)
from .refresh import Component, Refresh, one_at_a_time, published, refresh

if TYPE_CHECKING:
    from .host import LearningHost

COMPONENTS = ("fewshot", "calibrator", "router", "head")


def learn(
    podium: LearningHost,
    expert: str | None = None,
    *,
    minimum: int | None = None,
    data: str | Path | None = None,
    why: str = "",
) -> list[Refresh]:
    """Refresh every component (or those of one expert) and put the kept ones to use, one
    refresh at a time per workspace (a refresh running elsewhere is waited for).

    ``minimum``: fewest verified examples a component needs (default: its own, 5 or 8).
    ``data``: the training slices the trained heads relearn on (default ``[learning] data``).
    ``why``: what started the refresh, recorded with it."""
    assert podium.store is not None, "learning needs the run store"
    with one_at_a_time(learned_dir(podium)):
        return _learn(podium, expert, minimum, data, why)


def _learn(
    podium: LearningHost,
    expert: str | None,
    minimum: int | None,
    data: str | Path | None,
    why: str,
) -> list[Refresh]:
    assert podium.store is not None
    store = ExampleStore(podium.store)
    engine = podium.store.engine
    done: list[Refresh] = []
    if expert in (None, "nl2sql") and "nl2sql" in podium.registry:
        examples = [e for e in store.examples("nl2sql") if e.sql]
        done.append(refresh(engine, fewshot_component(podium), examples, minimum, why=why))
    for name in [e.name for e in podium.registry]:
        if expert in (None, name):
            outcomes = store.outcomes(name)
            if outcomes or expert == name:
                floor = None if minimum is None else max(minimum, 8)  # a fit needs verdicts
                done.append(refresh(engine, calibrator_component(name), outcomes, floor, why=why))
    folder, missing = training_data(podium, data)
    if expert in (None, FACT_CHECK) and FACT_CHECK in podium.registry:
        items = [c for e in store.examples(FACT_CHECK) for c in confirmed_claims(e)]
        if items or expert == FACT_CHECK:
            head = fact_check_component(podium, folder)
            checker = getattr(podium.registry.get(FACT_CHECK), "checker", None)
            other = "" if uses_trained_head(checker) else OTHER_VERIFIER
            done.append(
                refresh(engine, head, items, minimum, unavailable=missing or other, why=why)
            )
    if expert in (None, GUARD):
        items = confirmed_prompts(store.examples(GUARD))
        if items or expert == GUARD:
            head = guard_component(podium, folder)
            done.append(refresh(engine, head, items, minimum, unavailable=missing, why=why))
    if expert in (None, "router"):
        routed = [e for e in store.examples() if e.expert != GUARD]
        done.append(refresh(engine, router_component(podium), routed, minimum, why=why))
    attach(podium)
    return done


OTHER_VERIFIER = (
    "the fact_check expert runs another verifier than the trained head: nothing to retrain"
)
NO_DATA = (
    "the trained heads relearn on their training slices as well: give them with "
    "podium learn --data DIR or [learning] data in podium.toml"
)


def training_data(podium: LearningHost, data: str | Path | None) -> tuple[Path | None, str]:
    """The folder of training slices (``--data``, else ``[learning] data``, relative to the
    workspace), or None and why not."""
    spec = data or podium.workspace.config.learning.data
    if not spec:
        return None, NO_DATA
    path = Path(spec).expanduser()
    path = path if path.is_absolute() else Path(podium.workspace.root) / path
    if not path.is_dir():
        return None, f"no folder of training slices at {path} ([learning] data or --data)"
    return path, ""


# -- nl2sql few-shot pool ------------------------------------------------------------------


def pool_examples(examples: Iterable[Example]) -> list[Any]:
    from podium.experts.nl2sql.fewshot import PoolExample, learned_source

    # Never excluded as "the database asked about": these are this workspace's own answers,
    # shown to every draft and to the large model (NL2SQLExpert.learned_shots).
    return [PoolExample(e.input, e.sql or "", learned_source(e.source)) for e in examples if e.sql]


def fewshot_component(podium: LearningHost, shots: int = 4) -> Component[Example]:
    if podium.store is None:
        raise ConfigError("learning needs the run store: this Podium was made with store=False")
    store = ExampleStore(podium.store)

    def build(items: list[Example]) -> dict[str, Any]:
        return {"example_ids": [e.id for e in items]}

    def score(artifact: Any, held: list[Example]) -> float:
        held_ids = {e.id for e in held}
        ids = [i for i in (artifact or {}).get("example_ids", []) if i not in held_ids]
        learned = pool_examples(store.examples("nl2sql", ids=ids)) if ids else []
        return fewshot_accuracy(podium, learned, held, shots)

    return Component(
        "nl2sql", "fewshot", "held-back EX, small model few-shot", build, score, key=lambda e: e.id
    )


def fewshot_accuracy(
    podium: LearningHost, learned: list[Any], held: list[Example], shots: int
) -> float:
    """Share of held-back questions on which the small model, shown ``shots`` examples from
    the shipped pool plus ``learned``, returns the same rows as the verified query."""
    from podium.experts.base import ExpertContext
    from podium.experts.nl2sql import NL2SQLExpert
    from podium.experts.nl2sql.cascade import result_key
    from podium.experts.nl2sql.fewshot import ExamplePool
    from podium.tools.sql import QueryFailed, open_database

    base = podium.registry.get("nl2sql")
    pool = ExamplePool([*_shipped(base), *learned])
    expert = NL2SQLExpert(strategy="few_shot", large="small", shots=shots, pool=pool)
    ctx = ExpertContext(workspace=podium.workspace, models=podium.models)
    right = 0
    for ex in held:
        db = open_database(podium.workspace.database_url(ex.source or None))
        try:
            truth = result_key(db.execute(ex.sql or ""))
        except QueryFailed:
            continue
        got = expert.answer(db, ex.input, ctx)
        rows = (got.output or {}).get("sql") if got.ok else None
        if rows:
            with contextlib.suppress(QueryFailed):
                right += result_key(db.execute(rows)) == truth
    return right / len(held) if held else 0.0


def _shipped(expert: Any) -> list[Any]:
    """The pool the expert had before anything learned was added."""
    pool = getattr(expert, "pool", None)
    return [e for e in getattr(pool, "examples", []) if not e.source.startswith("verified:")]


# -- calibrators -----------------------------------------------------------------------------

Outcome = tuple[int, float, bool]


def calibrator_component(expert: str) -> Component[Outcome]:
    def build(items: list[Outcome]) -> dict[str, Any]:
        cal = fit_calibrator([c for _, c, _ in items], [g for _, _, g in items])
        return cal.model_dump()

    def score(artifact: Any, held: list[Outcome]) -> float:
        cal = Calibrator.model_validate(artifact) if artifact else None
        conf = [cal(c) if cal else c for _, c, _ in held]
        return -ece(conf, [g for _, _, g in held])

    return Component(
        expert,
        "calibrator",
        "-ECE on held-back verdicts",
        build,
        score,
        key=lambda o: o[0],
        minimum=8,
    )


# -- the semantic router's examples ----------------------------------------------------------


def router_component(podium: LearningHost) -> Component[Example]:
    from podium.orchestrator.context import routing_hints
    from podium.orchestrator.semantic_router import SemanticRouter

    registry = podium.context.planning_registry

    def build(items: list[Example]) -> dict[str, Any]:
        hints: dict[str, list[str]] = {}
        for e in items:
            if e.expert in registry and e.input not in hints.setdefault(e.expert, []):
                hints[e.expert].append(e.input)
        return {"hints": hints}

    def score(artifact: Any, held: list[Example]) -> float:
        held_inputs = {e.input for e in held}
        learned = (artifact or {}).get("hints", {})
        hints = {
            exp.name: [
                *routing_hints(exp, podium.workspace),
                *(t for t in learned.get(exp.name, []) if t not in held_inputs),
            ]
            for exp in registry
        }
        router = SemanticRouter(podium.models.embedder(), registry, hints)
        keep = [e for e in held if e.expert in registry]
        routes = router.routes([e.input for e in keep]) if keep else []
        return sum(r.expert == e.expert for r, e in zip(routes, keep, strict=True)) / max(
            1, len(keep)
        )

    return Component(
        "router", "examples", "held-back routing accuracy", build, score, key=lambda e: e.id
    )


# -- putting what was kept to use ------------------------------------------------------------


def attach(podium: LearningHost) -> None:
    """Give the experts what the last kept refreshes learned (call again after feedback: a
    thumbs-down takes an example out of the pool at once)."""
    if podium.store is None:
        return
    engine = podium.store.engine
    store = ExampleStore(podium.store)
    fewshot = published(engine, "nl2sql", "fewshot")
    if fewshot and "nl2sql" in podium.registry:
        from podium.experts.nl2sql import NL2SQLExpert
        from podium.experts.nl2sql.fewshot import ExamplePool

        nl2sql = podium.registry.get("nl2sql")
        learned = pool_examples(store.examples("nl2sql", ids=fewshot.get("example_ids", [])))
        if isinstance(nl2sql, NL2SQLExpert):
            nl2sql.pool = ExamplePool([*_shipped(nl2sql), *learned])
    for exp in podium.registry:
        cal = published(engine, exp.name, "calibrator")
        if cal:
            # A confidence calibrator is an attribute experts opt into (the cascade and draft
            # policies read it with getattr); retrieval has its own, ranked-list calibrator.
            setattr(exp, "calibrator", Calibrator.model_validate(cal))  # noqa: B010
    routes = published(engine, "router", "examples")
    if routes:
        for exp in podium.registry:
            exp.learned_hints = tuple(routes.get("hints", {}).get(exp.name, []))
    attach_heads(podium)
