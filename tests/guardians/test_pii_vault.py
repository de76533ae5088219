"""PII round trip: placeholders go out to a remote model, real values come back locally, and
nothing raw is in any request the remote endpoint received. Real Presidio + spaCy."""

from __future__ import annotations

import json
import re

import pytest

from podium import Podium, expert
from podium.guardians import Vault
from tests.reliability.fake_openai import FakeOpenAI
from tests.scripted import plan_json

pytestmark = pytest.mark.slow

EMAIL = "jane.doe@example.com"
CARD = "4111 1111 1111 1111"
IBAN = "DE89 3704 0044 0532 0130 00"
PERSON = "John Smith"
PHONE = "+1 212-555-0199"
TASK = (
    f"Send the invoice for card {CARD} and IBAN {IBAN} to {EMAIL}; "
    f"call {PERSON} at {PHONE} if it bounces."
)
RAW = [EMAIL, CARD, IBAN, PERSON, PHONE, "4111111111111111", "DE89370400440532013000"]


def test_the_vault_gives_each_value_one_stable_placeholder_and_restores_it():
    vault = Vault()
    out = vault.redact(TASK)
    for value in (EMAIL, CARD, IBAN, PERSON, PHONE):
        assert value not in out
    assert "<EMAIL_ADDRESS_1>" in out and "<CREDIT_CARD_1>" in out and "<IBAN_CODE_1>" in out
    again = vault.redact(f"Reminder for {EMAIL}")
    assert again == "Reminder for <EMAIL_ADDRESS_1>"
    assert vault.restore(out) == TASK


def test_an_invalid_card_number_is_not_taken_for_one():
    vault = Vault()
    assert vault.redact("order 4111 1111 1111 1112 shipped") == "order 4111 1111 1111 1112 shipped"


def test_personal_data_never_reaches_the_remote_model_and_comes_back_locally(guarded):
    seen: list[str] = []

    @expert
    def mailer(text: str) -> str:
        """Sends an email to the address given and says so."""
        seen.append(text)
        address = re.search(r"\S+@\S+", text)
        return f"queued invoice mail to {address.group(0) if address else '?'}"

    def reply(body):
        first = body["messages"][0]["content"]
        last = body["messages"][-1]["content"]
        placeholder = re.search(r"<EMAIL_ADDRESS_\d+>", last)
        if first.startswith("You are the planner"):
            return 200, plan_json(("s1", "mailer", f"send the invoice to {placeholder.group(0)}"))
        return 200, f"The invoice mail was queued for {placeholder.group(0)}."

    with FakeOpenAI(reply) as fake:
        podium = Podium(
            planner=fake.uri,
            workspace=guarded,
            warmup=False,
            semantic_check=False,
            builtins=False,
            plugins=False,
            experts=[mailer],
        )
        result = podium.run(TASK)

    outbound = json.dumps(fake.requests)
    assert len(fake.requests) >= 2  # the planner and the synthesizer went out
    for value in RAW:
        assert value not in outbound, f"{value} reached the remote endpoint"
    assert "<EMAIL_ADDRESS_1>" in outbound and "<CREDIT_CARD_1>" in outbound
    assert seen == [f"send the invoice to {EMAIL}"]  # the local expert got the real value
    assert result.status == "done"
    # The reply came back with the placeholder; the answer holds the real value again.
    assert f"The invoice mail was queued for {EMAIL}." in result.answer
    assert "<EMAIL_ADDRESS" not in result.answer
    pii = [v for v in result.verdicts if v["guardian"] == "pii" and v["stage"] == "in"]
    assert pii and pii[0]["action"] == "flag" and "remote model" in pii[0]["reason"]
    assert EMAIL not in pii[0]["reason"]  # verdicts (and the audit log) hold counts, not values


def test_personal_data_the_user_did_not_give_is_masked_in_the_answer(guarded, make_podium):
    @expert
    def directory(text: str) -> str:
        """Looks a customer up in the directory."""
        return "customer 7 is Maria Garcia, maria.garcia@example.org"

    podium = make_podium(
        plan_json(("s1", "directory", "customer 7")),
        "Customer 7 is Maria Garcia, reachable at maria.garcia@example.org.",
        experts=[directory],
    )
    result = podium.run("Who is customer 7?")
    assert "maria.garcia@example.org" not in result.answer
    assert "[EMAIL_ADDRESS]" in result.answer
    masked = [v for v in result.verdicts if v["category"] == "pii_leak"]
    assert masked and masked[0]["action"] == "transform"


async def test_a_vaulted_model_streams_restored_text_and_sends_placeholders():
    from langchain_core.language_models.fake_chat_models import GenericFakeChatModel
    from langchain_core.messages import AIMessage, HumanMessage

    from podium.guardians import VaultedChatModel
    from tests.scripted import RuleChatModel

    vault = Vault()
    sent: list[str] = []

    def remote(messages):
        sent.append(str(messages[-1].content))
        return "Reply to " + re.search(r"<EMAIL_ADDRESS_\d+>", sent[-1]).group(0)

    model = VaultedChatModel(inner=RuleChatModel(rule=remote), vault=vault)
    reply = await model.ainvoke([HumanMessage(f"Write to {EMAIL} today")])
    assert sent == ["Write to <EMAIL_ADDRESS_1> today"]
    assert reply.content == f"Reply to {EMAIL}"

    streaming = VaultedChatModel(
        inner=GenericFakeChatModel(messages=iter([AIMessage("Sent to <EMAIL_ADDRESS_1> now")])),
        vault=vault,
    )
    pieces = [str(c.content) async for c in streaming.astream([HumanMessage(f"Mail {EMAIL}")])]
    assert "".join(pieces) == f"Sent to {EMAIL} now"
