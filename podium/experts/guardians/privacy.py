"""The PII gatekeeper as a guardian: reports personal data in the task (the vault keeps it
from remote models) and masks personal data in the answer that the user did not give."""

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
        if item.stage == "in":
            masked = self.remote and self.policy.pii_remote == "mask"
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
        given = item.task.lower()
        leaked = [s for s in spans if s.text.lower() not in given]
        if not leaked or self.policy.pii_leak == "off":
            return Verdict(
                guardian=self.name,
                action="allow",
                category="pii",
                model=model,
                reason="personal data in the answer came from the user" if spans else "",
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
