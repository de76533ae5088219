"""The guard policy: which guardians run and what blocks versus what only flags.

Set in the workspace's ``podium.toml``::

    [guardians]
    enabled = true
    injection = "block"      # attack/jailbreak/harmful request in the task: block | flag | off
    documents = "drop"       # injected instruction in a retrieved passage: drop | flag | off
    pii_remote = "mask"      # personal data to a remote model: mask (vault) | off
    pii_leak = "mask"        # personal data in the answer not given by the user: mask | flag | off
    unsafe_answer = "flag"   # harmful content in the answer: block | flag | off
    audit = true             # hash-chained record of every verdict (podium audit verify)
    extra = ["mypkg.guards:ToxicityGuardian"]   # your own guardians
"""

from __future__ import annotations

from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field

Mode = Literal["block", "flag", "off"]


class GuardPolicy(BaseModel):
    """What the guardians do with what they find."""

    model_config = ConfigDict(extra="forbid")

    enabled: bool = Field(default=False, description="Run Podium's guardians in every run.")
    injection: Mode = "block"
    documents: Literal["drop", "flag", "off"] = "drop"
    pii_remote: Literal["mask", "off"] = "mask"
    pii_leak: Literal["mask", "flag", "off"] = "mask"
    unsafe_answer: Mode = "flag"
    audit: bool = True
    audit_url: str = Field(default="", description="SQLAlchemy URL; default .podium/audit.sqlite")
    injection_threshold: float | None = Field(
        default=None, ge=0, le=1, description="Override the trained threshold (1 % FPR)."
    )
    document_threshold: float | None = Field(default=None, ge=0, le=1)
    budget_ms: float = Field(default=3000.0, gt=0, description="Per guardian, per text.")
    extra: list[str] = Field(
        default_factory=list,
        description="Your own guardians, as module:object (class or instance).",
    )

    @classmethod
    def from_workspace(cls, workspace: Any) -> GuardPolicy:
        """The ``[guardians]`` table of a workspace's podium.toml (defaults if absent)."""
        if workspace is None:
            return cls()
        return workspace.config.guardians
