"""Guardian fixtures: a workspace whose policy turns Podium's guardians on."""

from __future__ import annotations

import pytest

from podium.guardians.policy import GuardPolicy


@pytest.fixture
def guarded(workspace):
    """The temporary workspace with ``[guardians] enabled = true`` (generous budgets: the CI
    machine is shared, and a guardian that times out only flags)."""
    workspace.config.guardians = GuardPolicy(enabled=True, budget_ms=120_000)
    workspace.save()
    return workspace
