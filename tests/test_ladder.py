"""The real ladder on this machine: both Qwen2.5-Coder models load from their verified files
(with llama.cpp's AMX repacking off), answer, and are shared by everything in the process."""

from __future__ import annotations

import threading

import pytest
from langchain_core.messages import HumanMessage

from podium import Podium
from podium.models.catalog import QWEN_05B, QWEN_15B
from podium.models.files import status
from podium.models.provider import ModelProvider, create_chat_model

pytestmark = pytest.mark.slow


def test_the_ladder_is_installed_and_verified_here() -> None:
    for card in (QWEN_05B, QWEN_15B):
        st = status(card)
        assert st.installed, f"{card.uri} missing: ./scripts/install.sh installs the ladder"
        assert st.verified and st.size == card.size


@pytest.mark.parametrize("uri", [QWEN_05B.uri, QWEN_15B.uri])
def test_each_rung_loads_and_answers(uri: str) -> None:
    model = create_chat_model(uri)
    reply = model.invoke(
        [HumanMessage("What is 17 + 25? Reply with the number only.")], max_tokens=8
    )
    assert "42" in str(reply.content)
    assert reply.usage_metadata and reply.usage_metadata["output_tokens"] > 0


def test_roles_resolve_to_the_ladder_and_a_model_is_loaded_once(demo) -> None:
    podium = Podium(workspace=demo, warmup=False, store=False)
    roles = podium.models.roles
    assert roles["planner"] == roles["synthesizer"] == roles["large"] == QWEN_15B.uri
    assert roles["small"] == QWEN_05B.uri
    a = ModelProvider().base_chat(QWEN_05B.uri)
    b = podium.models.base_chat(role="small")
    assert a.loaded is b.loaded  # type: ignore[attr-defined]


def test_concurrent_calls_on_one_model_are_serialised_and_all_answered() -> None:
    model = ModelProvider().base_chat(QWEN_05B.uri)
    answers: dict[int, str] = {}

    def ask(n: int) -> None:
        reply = model.invoke(
            [HumanMessage(f"What is {n} + {n}? Reply with the number only.")], max_tokens=6
        )
        answers[n] = str(reply.content)

    threads = [threading.Thread(target=ask, args=(n,)) for n in (3, 11, 20)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=300)
    assert {n: str(2 * n) in answers[n] for n in (3, 11, 20)} == {3: True, 11: True, 20: True}
