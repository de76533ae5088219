"""Conversations on the real models and the demo shop: a follow-up answered from the turn
before it, and a question routed to a database connected after the server started."""

from __future__ import annotations

import shutil
from collections.abc import Iterator
from typing import Any

import httpx
import openai
import pytest

from podium import Podium
from podium.server import create_app
from podium.server.background import serve_in_thread
from podium.workspace import Workspace

from .conftest import read_events
from .test_sources import employees_db

# Four to six model-backed runs; on a shared 2-core machine one run takes minutes.
pytestmark = [pytest.mark.slow, pytest.mark.timeout(1800)]


@pytest.fixture(scope="module")
def own_demo(demo: Workspace, tmp_path_factory: pytest.TempPathFactory) -> Workspace:
    """A copy of the demo workspace this module may connect databases to."""
    root = tmp_path_factory.mktemp("demo-copy") / "demo"
    shutil.copytree(demo.root, root, ignore=shutil.ignore_patterns(".podium"))
    return Workspace.load(root)


@pytest.fixture(scope="module")
def server(own_demo: Workspace) -> Iterator[str]:
    # A step gets 15 minutes, not 2: on a machine shared with other model runs the NL2SQL
    # cascade (three drafts, then the 1.5B model) has taken longer than 120 s.
    limits = own_demo.config.limits.model_copy(update={"step_timeout_s": 900})
    with serve_in_thread(create_app(Podium(workspace=own_demo, limits=limits))) as url:
        yield url


def test_the_march_count_follows_the_2024_question(server: str) -> None:
    client = openai.OpenAI(base_url=f"{server}/v1", api_key="-", max_retries=0, timeout=900)
    messages: list[Any] = [{"role": "user", "content": "How many orders were placed in 2024?"}]
    first = client.chat.completions.create(model="podium", messages=messages)
    assert "543" in first.choices[0].message.content
    messages += [
        {"role": "assistant", "content": first.choices[0].message.content},
        {"role": "user", "content": "And how many of them were in March?"},
    ]
    second = client.chat.completions.create(model="podium", messages=messages)
    answer = second.choices[0].message.content
    steps = second.model_extra["podium"]["steps"]
    assert "34" in answer, (answer, [s["input"] for s in steps])
    asked = steps[0]["input"]
    assert "March" in asked and "2024" in asked and "order" in asked.lower()


def test_a_question_goes_to_the_database_connected_for_it(server: str, own_demo: Workspace) -> None:
    employees_db(own_demo.root / "staff.sqlite")
    with httpx.Client(base_url=server, timeout=900, headers={"X-Podium-Client": "t"}) as http:
        res = http.post(
            "/api/databases",
            json={
                "name": "staff",
                "url": "sqlite:///staff.sqlite",
                "description": "Employees and the offices they work in.",
            },
        )
        assert res.status_code == 201, res.text
        run = http.post(
            "/api/runs", json={"message": "How many employees work in the Berlin office?"}
        ).json()
        events = read_events(http, run["run_id"])
    notes = [e for e in events if e["type"] == "expert_note" and e["kind"] == "database"]
    assert [n["data"]["database"] for n in notes] == ["staff"]
    assert "3" in events[-1]["answer"], events[-1]["answer"]


def test_the_demo_asks_before_it_uses_every_order_with_its_customers_name(server: str) -> None:
    """The demo's [approvals] max_rows on the real models: the listing waits for a person,
    approving finishes the run (the 2024 count above never waits: its answer came back)."""
    with httpx.Client(base_url=server, timeout=900, headers={"X-Podium-Client": "t"}) as http:
        task = "List every order with its customer's name"
        run_id = http.post("/api/runs", json={"message": task}).json()["run_id"]
        events = read_events(http, run_id)
        assert events[-1]["type"] == "run_paused", [e["type"] for e in events]
        asked = next(e for e in events if e["type"] == "approval_required")
        assert asked["expert"] == "nl2sql" and asked["when"] == "after"
        assert asked["reason"] == (
            "1,500 rows, over this workspace's limit of 200 ([approvals] max_rows)"
        )
        decision = {"approvals": {asked["step_id"]: True}}
        assert http.post(f"/api/runs/{run_id}/approve", json=decision).status_code == 202
        rest = read_events(http, run_id, after=events[-1]["seq"])
        assert (rest[-1]["type"], rest[-1]["status"]) == ("run_finished", "done")
        # what the person approved is what they read: how many rows, and the first of them
        answer = next(e["text"] for e in rest if e["type"] == "answer")
        assert answer.startswith(f"1,500 rows answer “{task}”; the first 20:"), answer
