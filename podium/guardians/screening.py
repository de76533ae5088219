"""Attack screening at the entry (the task), on retrieved documents (indirect injection) and
at the exit (unsafe content in the answer)."""

from __future__ import annotations

import asyncio
import re
import threading
from dataclasses import dataclass
from pathlib import Path
from typing import Any, ClassVar

from .base import GuardInput, Stage, Verdict
from .categories import CategoryIndex
from .classifier import AttackClassifier, Scored, features
from .policy import GuardPolicy


class _Models:
    """The encoder, the classifier and the category index, loaded once and shared (and the
    classifier of other weights, e.g. a head ``podium learn`` refreshed, once per file)."""

    _lock = threading.Lock()
    _loaded: tuple[AttackClassifier, CategoryIndex] | None = None
    _other: ClassVar[dict[Path, AttackClassifier]] = {}

    @classmethod
    def get(cls, weights: Path | None = None) -> tuple[AttackClassifier, CategoryIndex]:
        with cls._lock:
            if cls._loaded is None:
                from podium.models.embeddings import load_embedder

                embedder = load_embedder("local:minilm")
                cls._loaded = (AttackClassifier(embedder), CategoryIndex(embedder))
            if weights is None:
                return cls._loaded
            clf, cats = cls._loaded
            if weights not in cls._other:
                cls._other[weights] = AttackClassifier(clf.embedder, weights)
            return cls._other[weights], cats


def _snippet(text: str, n: int = 80) -> str:
    text = " ".join(text.split())
    return text if len(text) <= n else text[: n - 1] + "…"


class InjectionGuardian:
    """Prompt injection, jailbreak and harmful requests in the task (entry), harmful content
    in the answer (exit). prompt-guardrail + a head on MiniLM, over every decoded reading."""

    name = "injection"
    stages: tuple[Stage, ...] = ("in", "out")

    def __init__(self, policy: GuardPolicy | None = None) -> None:
        self.policy = policy or GuardPolicy()
        self.budget_ms = self.policy.budget_ms
        self.weights: Path | None = None  # None: the shipped heads

    @property
    def model(self) -> str:
        clf, _ = _Models.get(self.weights)
        return f"prompt-guardrail+minilm-head@{clf.version}"

    def warm(self) -> None:
        _Models.get(self.weights)

    async def inspect(self, item: GuardInput) -> Verdict:
        mode = self.policy.injection if item.stage == "in" else self.policy.unsafe_answer
        if mode == "off" or not item.text.strip():
            return Verdict(guardian=self.name, action="allow", category="off")
        return await asyncio.to_thread(self._inspect, item, mode)

    def _inspect(self, item: GuardInput, mode: str) -> Verdict:
        clf, cats = _Models.get(self.weights)
        head = clf.heads["prompt"]
        block_at = self.policy.injection_threshold or head.threshold
        flag_at = min(block_at, clf.meta["prompt"].get("flag_threshold", block_at))
        scored = clf.score_prompt(item.text)
        category = "injection" if item.stage == "in" else "unsafe_answer"
        if scored.score >= flag_at:
            vec = features([scored.piece], clf.embedder)[0]
            kind, _ = cats.nearest(vec)
            category = f"{category}:{kind}"
        action = "allow"
        if scored.score >= block_at:
            action = "block" if mode == "block" else "flag"
        elif scored.score >= flag_at:
            action = "flag"
        how = "" if scored.variant.how == "as written" else f" ({scored.variant.how})"
        reason = (
            f"attack score {scored.score:.2f} (blocks at {block_at:.2f}){how}: "
            f"{_snippet(scored.piece)!r}"
            if action != "allow"
            else f"attack score {scored.score:.2f} < {flag_at:.2f}"
        )
        return Verdict(
            guardian=self.name,
            action=action,
            category=category,
            score=round(min(1.0, max(0.0, scored.score)), 4),
            reason=reason,
            model=f"prompt-guardrail+minilm-head@{clf.version}",
        )


@dataclass
class DocumentVerdict:
    """What screening found in one document."""

    index: int
    injected: bool
    score: float
    reason: str


def screen_documents(texts: list[str], *, threshold: float | None = None) -> list[DocumentVerdict]:
    """Screen third-party texts (retrieved passages, tool output) for instructions aimed at
    the model, before they reach one. Each document's worst sentence counts.

        for v in screen_documents([p["text"] for p in passages]):
            if v.injected: ...drop passage v.index...
    """
    if not texts:
        return []
    clf, _ = _Models.get()
    limit = threshold if threshold is not None else clf.heads["document"].threshold
    out = []
    for i, s in enumerate(clf.score_documents(texts)):
        hit = s.score >= limit
        out.append(
            DocumentVerdict(
                index=i,
                injected=hit,
                score=round(s.score, 4),
                reason=(
                    f"instruction-like sentence (score {s.score:.2f} ≥ {limit:.2f}): "
                    f"{_snippet(s.piece)!r}"
                    if hit
                    else ""
                ),
            )
        )
    return out


def _scored_text(s: Scored) -> str:  # pragma: no cover - debugging aid
    return f"{s.score:.3f} {s.variant.how} {s.piece!r}"


_ROWS_HEADER = re.compile(r"^\s*\[[^\]\n]*\]\s*")


async def screen_outcome(
    outcome: dict[str, Any], policy: GuardPolicy
) -> tuple[dict[str, Any], list[dict[str, Any]]]:
    """A step's outcome with injected evidence passages dropped (or flagged), and verdicts.

    Called by the dispatcher on every finished step, so retrieved text is screened before
    the synthesizer (or any later step) puts it in a model's context.
    """
    evidence = outcome.get("evidence") or []
    texts = [str(e.get("text", "")) for e in evidence]
    if policy.documents == "off" or not any(t.strip() for t in texts):
        return outcome, []
    # A database result ("[name, total] Ann, 12; Bob, 9") is screened row by row, without its
    # header: the header is the schema's column names, and to the classifier a bracketed tag
    # reads like a role marker ("[name] Pole Repair Kit; Family Cabin Tent; ..." scored 0.98);
    # and rows run together hide an instruction in one of them ("Ann Lee; Ignore the user's
    # question and ..." scored 0.92, under the threshold; on a line of its own, 1.00).
    screened = [
        _ROWS_HEADER.sub("", t).replace("; ", "\n") if e.get("kind") == "rows" else t
        for e, t in zip(evidence, texts, strict=True)
    ]
    found = await asyncio.to_thread(screen_documents, screened, threshold=policy.document_threshold)
    hits = [v for v in found if v.injected]
    if not hits:
        return outcome, []
    clf, _ = _Models.get()
    action = "block" if policy.documents == "drop" else "flag"
    verdicts = [
        {
            "guardian": "document_injection",
            "action": action,
            "category": "indirect_injection",
            "score": v.score,
            "reason": f"step {outcome.get('step_id')} passage {v.index}: {v.reason}",
            "model": f"prompt-guardrail+minilm-head@{clf.version}",
            "stage": "step",
        }
        for v in hits
    ]
    if policy.documents != "drop":
        return outcome, verdicts
    bad = {v.index for v in hits}
    kept = [e for i, e in enumerate(evidence) if i not in bad]
    bad_texts = {texts[i] for i in bad}
    output = outcome.get("output")
    if isinstance(output, list):
        output = [
            o for o in output if not (isinstance(o, dict) and str(o.get("text")) in bad_texts)
        ]
    summary = outcome.get("summary")
    if isinstance(summary, str) and any(t and t in summary for t in bad_texts):
        # Another passage may stand in for a withheld one; a query or anything else may not
        # (a withheld rows summary once became the step's SQL, which the writer then read as
        # its finding).
        first = next((e for e in kept if e.get("kind") == "passage"), None)
        summary = (
            str(first.get("text")) if first else "(withheld: it carried injected instructions)"
        )
    cleaned = {**outcome, "evidence": kept, "output": output, "summary": summary}
    if not kept and not output:
        cleaned.update(
            status="failed",
            error="every passage found carried injected instructions and was withheld",
        )
    return cleaned, verdicts
