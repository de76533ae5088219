"""Long-term memory: facts recalled by meaning, per scope, and forgotten for good."""

from __future__ import annotations

from pathlib import Path

import pytest

from podium.errors import InputRejected
from podium.memory.facts import FactStore

pytestmark = pytest.mark.slow


def test_facts_are_recalled_by_meaning_and_forgotten(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'store.sqlite'}"
    facts = FactStore(url)
    billing = facts.remember("Invoices for my company go to billing@acme.test", scope="u1")
    facts.remember("I am allergic to peanuts", scope="u1")
    facts.remember("Invoices go to someone-else@example.test", scope="u2")

    recalled = FactStore(url).recall("where should the invoice be sent?", scope="u1")
    assert recalled[0]["id"] == billing
    assert all("someone-else" not in f["text"] for f in recalled)
    assert FactStore(url).recall("food allergy", scope="u1", k=1)[0]["text"].endswith("peanuts")

    assert facts.forget(billing)
    assert billing not in {f["id"] for f in facts.recall("invoice address", scope="u1")}
    assert not facts.forget(billing)
    assert facts.forget_scope("u2") == 1 and facts.facts(scope="u2") == []
    with pytest.raises(InputRejected):
        facts.remember("   ")
