"""Follow-up questions: the earlier turns reach the plan, and a follow-up is asked on its own.

A scripted planner model stands in for the 1.5B one: it rewrites "And how many of them were
in March?" the way a model that read the earlier turn would, so these tests check what Podium
does with a rewrite (and with a bad one), not what a model writes. The real models are in
``test_real_models.py``.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from typing import Any

import httpx
import openai
import pytest

from podium import ExpertResult, Podium, expert
from podium.server import create_app
from podium.server.background import serve_in_thread

from ..scripted import RuleChatModel
from .conftest import read_events

SEEN: list[list[Any]] = []  # every prompt the rewriting model got, for the assertions
PLANNED: list[str] = []  # every planner prompt, joined


@expert
async def orders(question: str) -> ExpertResult:
    """Counts orders in the shop database by year and month."""
    year = re.search(r"20\d\d", question)
    month = "March" in question
    count = 34 if (year and month) else 543 if year else 1
    sql = "SELECT COUNT(*) FROM orders" + (f" WHERE year = {year.group()}" if year else "")
    return ExpertResult(
        output={"sql": sql, "columns": ["n"], "rows": [[count]], "row_count": 1},
        summary=f"{count} orders",
        confidence=0.9,
    )


def rule(rewrite: str) -> Any:
    def reply(messages: list[Any]) -> str:
        head = str(messages[0].content)
        if head.startswith("You rewrite a follow-up"):
            SEEN.append(messages)
            return rewrite
        if head.startswith("You are the planner"):
            PLANNED.append("\n".join(str(m.content) for m in messages))
            task = str(next(m for m in reversed(messages) if m.type == "human").content)
            return json.dumps({"steps": [{"id": "s1", "expert": "orders", "input": task}]})
        return "Summary: " + str(messages[-1].content).split("Results:", 1)[-1].strip()

    return reply


def serve(workspace: Any, rewrite: str) -> Iterator[str]:
    SEEN.clear()
    PLANNED.clear()
    podium = Podium(
        planner=RuleChatModel(rule=rule(rewrite)),
        experts=[orders],
        workspace=workspace,
        builtins=False,
        plugins=False,
        warmup=False,
        semantic_check=False,
    )
    with serve_in_thread(create_app(podium)) as url:
        yield url


@pytest.fixture
def good(workspace: Any) -> Iterator[str]:
    yield from serve(workspace, "How many orders were placed in March 2024?")


@pytest.fixture
def invented(workspace: Any) -> Iterator[str]:
    yield from serve(workspace, "How many orders were placed in March 1999?")


def ask(url: str, messages: list[dict[str, str]]) -> dict[str, Any]:
    client = openai.OpenAI(base_url=f"{url}/v1", api_key="unused", max_retries=0)
    res = client.chat.completions.create(model="podium", messages=messages)
    return {"answer": res.choices[0].message.content, **res.model_extra["podium"]}


FIRST = "How many orders were placed in 2024?"
FOLLOW = "And how many of them were in March?"


def test_a_follow_up_through_the_openai_history_is_asked_on_its_own(good: str) -> None:
    res = ask(
        good,
        [
            {"role": "user", "content": FIRST},
            {"role": "assistant", "content": "543 orders were placed in 2024."},
            {"role": "user", "content": FOLLOW},
        ],
    )
    assert [s["input"] for s in res["steps"]] == ["How many orders were placed in March 2024?"]
    assert "34 orders" in res["answer"]
    prompt = str(SEEN[-1][-1].content)
    assert f"Earlier question: {FIRST}" in prompt and "543 orders" in prompt
    assert prompt.endswith(f"Follow-up: {FOLLOW}\nRewritten question:")
    # the planner plans the question that stands on its own, without the raw turns
    assert "Earlier in this conversation" not in PLANNED[-1] and FOLLOW not in PLANNED[-1]


def test_a_conversation_gives_the_rewrite_the_earlier_sql_and_shows_it_as_an_event(
    good: str,
) -> None:
    with httpx.Client(base_url=good, timeout=30, headers={"X-Podium-Client": "t"}) as http:
        first = http.post("/api/runs", json={"message": FIRST}).json()
        read_events(http, first["run_id"])
        conv = first["conversation_id"]
        second = http.post("/api/runs", json={"message": FOLLOW, "conversation_id": conv}).json()
        events = read_events(http, second["run_id"])
    rewritten = next(e for e in events if e["type"] == "followup")
    assert rewritten["original"] == FOLLOW and rewritten["how"] == "rewritten"
    assert rewritten["task"] == "How many orders were placed in March 2024?"
    started = next(e for e in events if e["type"] == "step_started")
    assert started["input"] == rewritten["task"]
    assert "It was answered as: How many orders were placed in 2024? (SQL: SELECT COUNT(*)" in str(
        SEEN[-1][-1].content
    )
    assert "34 orders" in events[-1]["answer"]


def test_a_question_that_stands_on_its_own_is_not_rewritten(good: str) -> None:
    res = ask(
        good,
        [
            {"role": "user", "content": FIRST},
            {"role": "assistant", "content": "543 orders were placed in 2024."},
            {"role": "user", "content": "How many orders were placed in 2023 in total?"},
        ],
    )
    assert SEEN == []
    assert [s["input"] for s in res["steps"]] == ["How many orders were placed in 2023 in total?"]
    assert f"Earlier in this conversation:\nhuman: {FIRST}" in PLANNED[-1]


def test_a_rewrite_that_invents_a_number_is_not_used(invented: str) -> None:
    res = ask(
        invented,
        [
            {"role": "user", "content": FIRST},
            {"role": "assistant", "content": "543 orders were placed in 2024."},
            {"role": "user", "content": FOLLOW},
        ],
    )
    assert [s["input"] for s in res["steps"]] == [f"{FOLLOW} (following up on: {FIRST})"]
    assert "34 orders" in res["answer"]


def test_the_history_brings_back_an_older_turn_that_matches_the_question(tmp_path: Any) -> None:
    from podium.memory.conversations import ConversationStore

    chats = ConversationStore(f"sqlite:///{tmp_path / 'store.sqlite'}")
    conv = chats.create()
    chats.append(conv, "user", "My order number is 7781 and the parcel never arrived.")
    chats.append(conv, "assistant", "I am sorry to hear that.")
    for i in range(6):
        chats.append(conv, "user", f"Unrelated question {i} about opening hours.")
        chats.append(conv, "assistant", f"Answer {i}.")
    history = chats.history(conv, turns=4, query="What happened to that parcel?")
    texts = [str(m.content) for m in history]
    assert texts[:2] == [
        "My order number is 7781 and the parcel never arrived.",
        "I am sorry to hear that.",
    ]
    assert texts[2:] == [
        "Unrelated question 4 about opening hours.",
        "Answer 4.",
        "Unrelated question 5 about opening hours.",
        "Answer 5.",
    ]
