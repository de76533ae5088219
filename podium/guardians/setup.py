"""Everything a run needs from the guardians, built from the workspace's policy.

``Guards`` holds the guardians for ``guard_in``/``guard_out``, the PII vault that wraps
remote models, the document screen the dispatcher applies to each step's evidence, and the
audit log. Users add their own guardians like experts: ``Podium(guardians=[...])``, a
``podium.guardians`` entry point, or ``extra = ["module:object"]`` under ``[guardians]``.
"""

from __future__ import annotations

import contextlib
from collections.abc import Callable
from importlib.metadata import entry_points
from pathlib import Path
from typing import Any

from langchain_core.language_models import BaseChatModel

from podium.errors import RegistryError
from podium.experts.registry import resolve_object

from .audit import AuditLog
from .base import Guardian, Verdict
from .policy import GuardPolicy
from .privacy import PIIGuardian
from .screening import InjectionGuardian, screen_outcome
from .vault import Vault, vaulted

ENTRY_POINT_GROUP = "podium.guardians"


def as_guardian(obj: Any, origin: str = "python") -> Guardian:
    """Check an object (or a class / factory of one) against the Guardian protocol."""
    if isinstance(obj, type) or (callable(obj) and not hasattr(obj, "inspect")):
        obj = obj()
    if not isinstance(obj, Guardian):
        raise RegistryError(
            f"{origin}: {type(obj).__name__} is not a guardian",
            hint="a guardian has name, stages, budget_ms and async inspect(item) -> Verdict",
        )
    return obj


def plugin_guardians() -> list[Guardian]:
    return [
        as_guardian(ep.load(), f"entry point {ep.name}")
        for ep in entry_points(group=ENTRY_POINT_GROUP)
    ]


class Guards:
    def __init__(self, policy: GuardPolicy, audit_url: str | None = None) -> None:
        self.policy = policy
        self.vault = Vault()
        self.guardians: list[Guardian] = []
        self.audit: AuditLog | None = None
        if policy.enabled:
            if policy.injection != "off" or policy.unsafe_answer != "off":
                self.guardians.append(InjectionGuardian(policy))
            if policy.pii_remote != "off" or policy.pii_leak != "off":
                self.guardians.append(PIIGuardian(policy))
            self.guardians += plugin_guardians()
            self.guardians += [as_guardian(resolve_object(s), s) for s in policy.extra]
            if policy.audit and audit_url:
                self.audit = AuditLog(audit_url)

    @classmethod
    def from_workspace(cls, workspace: Any) -> Guards:
        policy = GuardPolicy.from_workspace(workspace)
        url = policy.audit_url or (
            f"sqlite:///{Path(workspace.data_dir) / 'audit.sqlite'}" if workspace else ""
        )
        return cls(policy, url or None)

    @property
    def outbound(self) -> Callable[[BaseChatModel], BaseChatModel] | None:
        """The provider hook: remote models get the vault (None when it is off)."""
        if self.policy.enabled and self.policy.pii_remote == "mask":
            return vaulted(self.vault)
        return None

    def models_are_local(self, local: bool) -> None:
        """Tell the PII guardian whether any prompt can leave this machine."""
        for guardian in self.guardians:
            if isinstance(guardian, PIIGuardian):
                guardian.remote = not local

    def warm(self) -> None:
        """Load the guardians' models now (they are loaded on first use otherwise)."""
        for g in self.guardians:
            warm = getattr(g, "warm", None)
            if callable(warm):
                with contextlib.suppress(Exception):
                    warm()

    def record(
        self, run_id: str, stage: str, verdicts: list[Verdict] | list[dict[str, Any]]
    ) -> None:
        if self.audit is None or not verdicts:
            return
        rows = [v.model_dump() if isinstance(v, Verdict) else v for v in verdicts]
        self.audit.append(run_id, stage, rows)

    async def screen(
        self, outcome: dict[str, Any], run_id: str
    ) -> tuple[dict[str, Any], list[dict[str, Any]]]:
        """Indirect-injection screen of one step's evidence (no-op when disabled)."""
        if not self.policy.enabled or outcome.get("status") != "ok":
            return outcome, []
        cleaned, verdicts = await screen_outcome(outcome, self.policy)
        self.record(run_id, "step", verdicts)
        return cleaned, verdicts
