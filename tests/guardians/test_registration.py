"""Your own guardian, registered from the workspace policy like an expert, runs at the entry
and its block ends the run before planning; its verdict lands in the audit chain."""

from __future__ import annotations

from podium.guardians import GuardInput, GuardPolicy, Verdict
from podium.guardians.audit import AuditLog


class NoProjectNames:
    """Blocks tasks that mention the secret project."""

    name = "no_project_names"
    stages = ("in",)
    budget_ms = 1000.0

    async def inspect(self, item: GuardInput) -> Verdict:
        if "bluebird" in item.text.lower():
            return Verdict(
                guardian=self.name,
                action="block",
                category="confidential",
                score=1.0,
                reason="mentions project Bluebird",
            )
        return Verdict(guardian=self.name, action="allow", category="confidential")


def _policy() -> GuardPolicy:
    return GuardPolicy(
        enabled=True,
        injection="off",
        unsafe_answer="off",
        pii_remote="off",
        pii_leak="off",
        extra=["tests.guardians.test_registration:NoProjectNames"],
    )


def test_a_guardian_named_in_the_policy_blocks_and_is_audited(workspace, make_podium):
    workspace.config.guardians = _policy()
    podium = make_podium(experts=[])  # no scripted replies: planning would raise
    assert [g.name for g in podium.guardians] == ["no_project_names"]

    result = podium.run("Summarise the Bluebird launch plan")

    assert result.status == "blocked"
    assert "project Bluebird" in result.answer
    log = AuditLog(f"sqlite:///{workspace.data_dir / 'audit.sqlite'}")
    rows = log.records(result.run_id)
    assert [(r["guardian"], r["action"]) for r in rows] == [
        ("input_limits", "allow"),
        ("no_project_names", "block"),
    ]
    assert log.verify().ok


def test_a_policy_that_names_something_else_fails_clearly(workspace):
    import pytest

    from podium.errors import RegistryError
    from podium.guardians.setup import Guards

    policy = _policy()
    policy.extra = ["tests.guardians.test_registration:_policy"]
    with pytest.raises(RegistryError, match="not a guardian"):
        Guards(policy)
