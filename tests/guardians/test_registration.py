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


class SlowToLoad(NoProjectNames):
    """Blocks the secret project too, with a model that takes longer to load than to run."""

    name = "slow_to_load"
    budget_ms = 200.0
    loads = 0

    def warm(self) -> None:
        import time

        if not SlowToLoad.loads:
            time.sleep(0.6)  # three budgets: a cold model under load
        SlowToLoad.loads += 1

    async def inspect(self, item: GuardInput) -> Verdict:
        import asyncio

        await asyncio.to_thread(self.warm)  # loaded on first use, as the shipped guardians are
        return await super().inspect(item)


def test_a_guardians_budget_starts_once_its_model_is_loaded(workspace, make_podium):
    policy = _policy()
    policy.extra = ["tests.guardians.test_registration:SlowToLoad"]
    workspace.config.guardians = policy
    podium = make_podium(experts=[])

    result = podium.run("Summarise the Bluebird launch plan")

    # not "no verdict within its 200 ms budget", and the task not let through as a flag
    assert result.status == "blocked"
    assert "project Bluebird" in result.answer
    [verdict] = [v for v in result.events if v.get("guardian") == "slow_to_load"]
    assert verdict["action"] == "block" and verdict["ms"] < 200
