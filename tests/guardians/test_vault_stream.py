"""Restoring a streamed reply: a placeholder cut across chunks still comes back whole."""

from __future__ import annotations

from podium.guardians.vault import Vault, _StreamRestorer


def test_a_placeholder_split_across_stream_chunks_is_restored():
    vault = Vault()
    token = vault.placeholder("EMAIL_ADDRESS", "jane.doe@example.com")
    assert token == "<EMAIL_ADDRESS_1>"
    restorer = _StreamRestorer(vault)
    chunks = ["Mail sent to <EMA", "IL_ADD", "RESS_1", "> at 09:00 <", "b>ok</b>"]
    pieces = [restorer.feed(c) for c in chunks] + [restorer.flush()]
    assert "".join(pieces) == "Mail sent to jane.doe@example.com at 09:00 <b>ok</b>"
    assert "<EMA" not in pieces[0]  # held back until it is known whether it is a placeholder


def test_unknown_placeholders_are_left_as_they_are():
    vault = Vault()
    assert vault.restore("Hello <PERSON_9>") == "Hello <PERSON_9>"
