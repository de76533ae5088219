"""The PII gatekeeper as a guardian: reports personal data in the task (the vault keeps it
from remote models) and masks personal data in the answer that neither the user nor the
workspace's own documents gave.

``remote`` says whether any model of the run is remote. When every model is local nothing
leaves the machine: the task is not flagged and the answer is never masked (masking then
only garbled the shop's own text: "We ship from [PERSON] to ... [LOCATION]")."""

from __future__ import annotations

import asyncio

from .base import GuardInput, Stage, Verdict
from .pii import PIIDetector, describe
from .policy import GuardPolicy


class PIIGuardian:
    name = "pii"
    stages: tuple[Stage, ...] = ("in", "out")

    def __init__(self, policy: GuardPolicy | None = None, remote: bool = True) -> None:
        self.policy = policy or GuardPolicy()
        self.budget_ms = self.policy.budget_ms
        self.remote = remote

    def warm(self) -> None:
        PIIDetector.shared()

    async def inspect(self, item: GuardInput) -> Verdict:
        return await asyncio.to_thread(self._inspect, item)

    def _inspect(self, item: GuardInput) -> Verdict:
        detector = PIIDetector.shared()
        spans = detector.find(item.text)
        model = detector.version
        if not spans:
            return Verdict(guardian=self.name, action="allow", category="pii", model=model)
        counts = ", ".join(f"{n} {k}" for k, n in describe(spans).items())
        if not self.remote:
            return Verdict(
                guardian=self.name,
                action="allow",
                category="pii",
                model=model,
                reason="every model is local: personal data stays on this machine",
            )
        if item.stage == "in":
            masked = self.policy.pii_remote == "mask"
            how = (
                "placeholders replace them in every call to a remote model"
                if masked
                else "sent as written"
            )
            return Verdict(
                guardian=self.name,
                action="flag",
                category="pii",
                score=round(max(s.score for s in spans), 4),
                reason=f"personal data in the task ({counts}); {how}",
                model=model,
            )
        given = " ".join([item.task, *_workspace_texts(item)]).lower()
        leaked = [s for s in spans if s.text.lower() not in given]
        if not leaked or self.policy.pii_leak == "off":
            return Verdict(
                guardian=self.name,
                action="allow",
                category="pii",
                model=model,
                reason="personal data in the answer came from the user or the workspace"
                if spans
                else "",
            )
        counts = ", ".join(f"{n} {k}" for k, n in describe(leaked).items())
        if self.policy.pii_leak == "flag":
            return Verdict(
                guardian=self.name,
                action="flag",
                category="pii_leak",
                score=round(max(s.score for s in leaked), 4),
                reason=f"answer holds personal data the user did not give ({counts})",
                model=model,
            )
        text = item.text
        for s in reversed(leaked):
            text = text[: s.start] + f"[{s.kind}]" + text[s.end :]
        return Verdict(
            guardian=self.name,
            action="transform",
            category="pii_leak",
            score=round(max(s.score for s in leaked), 4),
            reason=f"masked personal data the user did not give ({counts})",
            transformed=text,
            model=model,
        )


def _workspace_texts(item: GuardInput) -> list[str]:
    """The workspace's own documents the run read (retrieved passages). Rows and other
    expert outputs are not among them: a customer's e-mail found by a query is still masked."""
    return [
        str(e.get("text", ""))
        for e in item.evidence
        if isinstance(e, dict) and e.get("kind") == "passage"
    ]
