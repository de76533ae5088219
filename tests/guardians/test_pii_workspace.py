"""The personal-data filter leaves the workspace's own documents alone and stays quiet when
every model is local; what it masks it names by kind and count."""

from __future__ import annotations

import pytest

from podium.guardians import GuardInput
from podium.guardians.privacy import PIIGuardian

pytestmark = pytest.mark.slow  # Presidio and spaCy load

SHIPPING = "We ship from Rotterdam to Berlin within 2 days; Anna Jansen packs every order."


async def test_text_from_the_workspaces_documents_is_never_masked() -> None:
    item = GuardInput(
        text=SHIPPING,
        stage="out",
        task="How fast is shipping?",
        evidence=[{"kind": "passage", "text": SHIPPING, "source": "docs/shipping.md"}],
    )
    verdict = await PIIGuardian().inspect(item)
    assert verdict.action == "allow" and verdict.transformed is None


async def test_personal_data_from_nowhere_in_the_workspace_is_masked_and_named() -> None:
    item = GuardInput(text=SHIPPING, stage="out", task="How fast is shipping?")
    verdict = await PIIGuardian().inspect(item)
    assert verdict.action == "transform" and "Anna Jansen" not in (verdict.transformed or "")
    assert verdict.reason.startswith("masked personal data the user did not give (")


async def test_a_local_only_run_is_neither_flagged_nor_masked() -> None:
    guardian = PIIGuardian(remote=False)
    for stage in ("in", "out"):
        item = GuardInput(text=SHIPPING, stage=stage, task="Who is Anna Jansen?")
        verdict = await guardian.inspect(item)
        assert verdict.action == "allow"
        assert verdict.reason == "every model is local: personal data stays on this machine"
