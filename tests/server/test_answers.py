"""Answers people can read: a refusal to change data says so and why, a result below the
confidence floor is "I don't know" (with the reason), and the model is not asked to dress up
either; a trusted result is written as the answer."""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any

import httpx
import pytest

from podium import ExpertResult, Podium, expert
from podium.server import create_app
from podium.server.background import serve_in_thread

from ..scripted import RuleChatModel
from .conftest import read_events

WRITES: list[str] = []


@expert
async def shop(question: str) -> ExpertResult:
    """Answers questions about the shop's records."""
    if question.lower().startswith("delete"):
        message = "Podium only reads this database: it cannot delete data, and nothing was changed."
        return ExpertResult(
            output={"refused": "write", "message": message, "rows": [], "sql": None},
            summary=message,
            confidence=1.0,
        )
    if "weather" in question:
        return ExpertResult(output="shipping.md: Standard delivery ...", confidence=0.06)
    return ExpertResult(output="543", summary="COUNT(*): 543", confidence=0.9)


def rule(messages: list[Any]) -> str:
    if str(messages[0].content).startswith("You are the planner"):
        task = str(next(m for m in reversed(messages) if m.type == "human").content)
        parts = [p.strip() for p in task.split(" and ")]
        steps = [{"id": f"s{i}", "expert": "shop", "input": p} for i, p in enumerate(parts, 1)]
        return json.dumps({"steps": steps})
    WRITES.append(str(messages[-1].content))
    return "543 orders were placed in 2024."


@pytest.fixture
def http(workspace: Any) -> Iterator[httpx.Client]:
    WRITES.clear()
    podium = Podium(
        planner=RuleChatModel(rule=rule),
        experts=[shop],
        workspace=workspace,
        builtins=False,
        plugins=False,
        warmup=False,
        semantic_check=False,
    )
    with (
        serve_in_thread(create_app(podium)) as url,
        httpx.Client(base_url=url, timeout=30, headers={"X-Podium-Client": "t"}) as client,
    ):
        yield client


def answer(http: httpx.Client, question: str) -> str:
    run = http.post("/api/runs", json={"message": question}).json()
    return read_events(http, run["run_id"])[-1]["answer"]


def test_a_write_request_is_refused_with_the_reason(http: httpx.Client) -> None:
    text = answer(http, "Delete all orders from 2024")
    assert text == (
        "I can't change data: Podium only reads this database: it cannot delete data, and "
        "nothing was changed."
    )
    assert WRITES == []


def test_a_result_below_the_confidence_floor_is_i_dont_know(http: httpx.Client) -> None:
    text = answer(http, "What is the weather in Paris tomorrow?")
    assert text.startswith("I don't know.")
    assert "confidence 0.06, below the 0.30" in text
    assert WRITES == []


def test_a_trusted_result_is_written_and_the_unsure_part_said_so(http: httpx.Client) -> None:
    text = answer(http, "How many orders were placed in 2024 and what is the weather in Paris?")
    assert text.startswith("543 orders were placed in 2024. I don't know the answer to")
    assert "“what is the weather in Paris?”" in text
    assert len(WRITES) == 1 and "[s1]" in WRITES[0] and "[s2]" not in WRITES[0]
