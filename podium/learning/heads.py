"""The trained small heads relearn from what was confirmed, on a CPU.

* ``fact_check/head`` — the fact-check verifier's head (``podium train fact_check --model
  head``), retrained on the shipped claim–evidence pairs plus the (claim, evidence, verdict)
  triples of fact-check steps that were confirmed: by a person (thumbs-up, approval,
  ``podium feedback``: every claim of the step) or by the large model (only the claims it
  agreed on). Scored by the share of held-back confirmed verdicts it reproduces.
* ``guard/head`` — the entry guard's prompt head (``podium train guard``), retrained on the
  shipped guard slices plus the tasks people confirmed as attacks or as false alarms
  (``podium feedback RUN_ID guard good|bad``). Scored by the share of held-back confirmed
  tasks it flags (attacks) or lets through (false alarms) rightly.

Both need the training slices they were made from (``podium learn --data DIR`` or
``[learning] data``); the weights of a candidate live in the workspace (``.podium/learned/``),
and a rolled-back candidate's file is deleted.
"""

from __future__ import annotations

import logging
import uuid
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from .examples import GUARD, Example
from .refresh import Component, published

if TYPE_CHECKING:
    from .host import LearningHost

log = logging.getLogger(__name__)
FACT_CHECK = "fact_check"


@dataclass(frozen=True)
class Labelled:
    """One confirmed training item of a head, from verified example ``example_id``."""

    example_id: int
    text: str
    label: str
    evidence: str = ""


def learned_dir(podium: LearningHost) -> Path:
    return Path(podium.workspace.data_dir) / "learned"


def weights_of(artifact: Any) -> Path | None:
    """The weights file a published refresh points to (None: nothing kept, or it is gone)."""
    path = Path(str(artifact.get("weights", ""))) if isinstance(artifact, dict) else None
    return path if path is not None and path.is_file() else None


def _discard(artifact: Any) -> None:
    path = weights_of(artifact)
    if path is not None:
        path.unlink(missing_ok=True)


def _new_weights(podium: LearningHost, name: str) -> Path:
    folder = learned_dir(podium)
    folder.mkdir(parents=True, exist_ok=True)
    return folder / f"{name}-{uuid.uuid4().hex[:8]}.npz"


# -- what was confirmed ----------------------------------------------------------------------


def confirmed_claims(example: Example) -> list[Labelled]:
    """The (claim, evidence, verdict) triples of a fact-check step that were confirmed: every
    claim when a voucher covers the whole answer, else the claims the vouchers name."""
    from podium.experts.fact_check.labels import LABELS

    out = example.output if isinstance(example.output, dict) else {}
    claims = out.get("claims") or []
    marks = [p for p in example.provenance if p.get("kind") != "removed"]
    if any("claims" not in p for p in marks):
        scope = set(range(len(claims)))
    else:
        scope = {int(i) for p in marks for i in p["claims"]}
    return [
        Labelled(example.id, str(c["claim"]), str(c["label"]), str(c["evidence"]))
        for i, c in enumerate(claims)
        if i in scope
        and isinstance(c, dict)
        and c.get("claim")
        and c.get("evidence")
        and c.get("label") in LABELS
    ]


def confirmed_prompts(examples: Iterable[Example]) -> list[Labelled]:
    """The tasks people confirmed as attacks or as false alarms of the entry guard."""
    return [
        Labelled(e.id, e.input, str(e.output["label"]))
        for e in examples
        if isinstance(e.output, dict) and e.output.get("label") in ("attack", "benign")
    ]


# -- the fact-check verifier's head ------------------------------------------------------------


def fact_check_data(data: Path) -> Path:
    """The folder with ``pairs.jsonl``: ``DATA/fact_check`` or ``DATA`` itself."""
    return data / FACT_CHECK if (data / FACT_CHECK / "pairs.jsonl").is_file() else data


def fact_check_component(podium: LearningHost, data: Path | None) -> Component[Labelled]:
    def build(items: list[Labelled]) -> dict[str, Any]:
        from podium.experts.fact_check.train import train

        assert data is not None, "learn() records a skip without the training data"
        triples = [(i.text, i.evidence, i.label) for i in items]
        head, report = train(fact_check_data(data), extra=triples, log=log.info)
        path = _new_weights(podium, "fact_check")
        head.save(path)
        f1 = report["validation"]["macro_f1"]
        return {
            "weights": str(path),
            "example_ids": sorted({i.example_id for i in items}),
            "about": f"trained on {len(items)} confirmed verdict(s) + the shipped pairs "
            f"(macro-F1 {f1} on the shipped validation claims)",
        }

    def score(artifact: Any, held: list[Labelled]) -> float:
        from podium.experts.fact_check.labels import LABELS
        from podium.experts.fact_check.verifier import TrainedVerifier

        verifier = TrainedVerifier(weights_of(artifact))  # None: the shipped head
        probs = verifier.predict([h.text for h in held], [h.evidence for h in held])
        pred = verifier.decide(probs)
        return sum(LABELS[p] == h.label for p, h in zip(pred, held, strict=True)) / len(held)

    return Component(
        FACT_CHECK,
        "head",
        "held-back confirmed verdicts reproduced",
        build,
        score,
        key=lambda i: i.example_id,
        unit="confirmed claim verdict(s)",
        discard=_discard,
    )


def uses_trained_head(checker: Any) -> bool:
    """Whether a fact checker runs the trained head (the default), not a cross-encoder or
    another verifier someone chose: only then does a refreshed head replace its weights."""
    from podium.experts.fact_check.checker import FactChecker
    from podium.experts.fact_check.verifier import TrainedVerifier

    if not isinstance(checker, FactChecker):
        return False
    chosen = getattr(checker, "_verifier", None)  # FactChecker loads its verifier lazily
    if chosen is None:
        return getattr(checker, "_spec", None) in (None, "builtin", "head")
    return isinstance(chosen, TrainedVerifier)


# -- the entry guard's prompt head ------------------------------------------------------------


def guard_component(podium: LearningHost, data: Path | None) -> Component[Labelled]:
    def build(items: list[Labelled]) -> dict[str, Any]:
        from podium.guardians.train import train

        assert data is not None, "learn() records a skip without the training data"
        path = _new_weights(podium, "guard")
        meta = train(data, path, extra_prompts=[(i.text, int(i.label == "attack")) for i in items])
        cv = meta["prompt"]["cv"]
        return {
            "weights": str(path),
            "example_ids": sorted({i.example_id for i in items}),
            "about": f"trained on {len(items)} confirmed task(s) + the shipped slices "
            f"(out-of-fold AUROC {cv['auroc']} on the guard slice)",
        }

    def score(artifact: Any, held: list[Labelled]) -> float:
        return guard_accuracy(weights_of(artifact), held)

    return Component(
        GUARD,
        "head",
        "held-back confirmed tasks judged rightly",
        build,
        score,
        key=lambda i: i.example_id,
        unit="confirmed task(s)",
        discard=_discard,
    )


def guard_accuracy(weights: Path | None, held: list[Labelled]) -> float:
    """Share of ``held`` the prompt head flags (attacks) or lets through (false alarms) as
    confirmed, at the head's own flag threshold (``None``: the shipped weights)."""
    from podium.guardians.classifier import WEIGHTS, AttackClassifier
    from podium.models.embeddings import load_embedder

    clf = AttackClassifier(load_embedder("local:minilm"), weights or WEIGHTS)
    head = clf.heads["prompt"]
    flag_at = min(head.threshold, clf.meta["prompt"].get("flag_threshold", head.threshold))
    scored = clf.score_prompts([h.text for h in held])
    right = sum(
        (s.score >= flag_at) == (h.label == "attack") for s, h in zip(scored, held, strict=True)
    )
    return right / len(held)


# -- putting what was kept to use ------------------------------------------------------------


def attach_heads(podium: LearningHost) -> None:
    """Give the fact checkers and the entry guard the heads the last kept refreshes trained."""
    assert podium.store is not None
    engine = podium.store.engine
    fact_check = weights_of(published(engine, FACT_CHECK, "head"))
    if fact_check is not None:
        from podium.experts.fact_check.checker import FactChecker
        from podium.experts.fact_check.verifier import TrainedVerifier

        verifier = TrainedVerifier(fact_check)
        owners: list[Any] = (
            [podium.registry.get(FACT_CHECK)] if FACT_CHECK in podium.registry else []
        )
        owners += [g for g in podium.guardians if getattr(g, "name", "") == FACT_CHECK]
        for owner in owners:
            checker = getattr(owner, "checker", None)
            if isinstance(checker, FactChecker) and uses_trained_head(checker):
                owner.checker = FactChecker(
                    verifier, top_k=checker.top_k, gate=checker.gate, rules=checker.rules
                )
    guard = weights_of(published(engine, GUARD, "head"))
    if guard is not None:
        from podium.guardians.screening import InjectionGuardian

        for g in podium.guardians:
            if isinstance(g, InjectionGuardian):
                g.weights = guard
