"""A server over a scripted planner: each task is split into clauses, one step per clause."""

from __future__ import annotations

import asyncio
import json
import re
from collections.abc import Iterator
from typing import Any

import httpx
import pytest

from podium import ExpertContext, ExpertResult, Podium, expert
from podium.server import ServerLimits, create_app
from podium.server.background import serve_in_thread

from ..scripted import RuleChatModel


@expert
async def lookup(text: str, ctx: ExpertContext) -> str:
    """Looks up a fact and returns it."""
    await asyncio.sleep(0.05)
    ctx.emit({"kind": "looked_up", "source": "almanac", "score": 0.5})
    return f"fact about {text}"


@expert
async def export(text: str) -> ExpertResult:
    """Exports rows of a table; a person approves before the result is used."""
    await asyncio.sleep(0.05)
    return ExpertResult(
        output={
            "sql": f"SELECT * FROM {text.split()[-1]}",
            "columns": ["n"],
            "rows": [[5000]],
            "row_count": 1,
            "truncated": False,
        },
        summary=f"5000 rows of {text} exported",
        confidence=0.9,
        needs_approval="5,000 rows is over the 1,000-row limit",
    )


@expert
async def ponder(text: str) -> str:
    """Thinks slowly about something (a step that takes a while)."""
    await asyncio.sleep(1.5)
    return f"thoughts on {text}"


def plan_for(task: str) -> str:
    """'A and B' -> s1: A, s2: B, s3: both (after s1, s2); clauses with 'export' export."""
    clauses = [c.strip(" ?.") for c in re.split(r"\band\b|,", task) if c.strip(" ?.")]
    steps: list[dict[str, Any]] = []
    for i, clause in enumerate(clauses, 1):
        low = clause.lower()
        name = "export" if "export" in low else "ponder" if "slowly" in low else "lookup"
        steps.append({"id": f"s{i}", "expert": name, "input": clause, "depends_on": []})
    if len(steps) > 1:
        ids = [s["id"] for s in steps]
        steps.append(
            {
                "id": f"s{len(steps) + 1}",
                "expert": "lookup",
                "input": "how " + " and ".join(f"{{{i}}}" for i in ids) + " relate",
                "depends_on": ids,
            }
        )
    return json.dumps({"steps": steps})


def _rule(messages: list[Any]) -> str:
    if str(messages[0].content).startswith("You are the planner"):
        task = next(m for m in reversed(messages) if m.type == "human")
        return plan_for(str(task.content))
    facts = str(messages[-1].content)
    return "Summary of results: " + facts.split("Results:", 1)[-1].strip()


@pytest.fixture
def podium(workspace: Any) -> Podium:
    return Podium(
        planner=RuleChatModel(rule=_rule),
        experts=[lookup, export, ponder],
        workspace=workspace,
        builtins=False,
        plugins=False,
        warmup=False,
        semantic_check=False,
    )


@pytest.fixture
def limits() -> ServerLimits:
    return ServerLimits(max_body_bytes=200_000, max_upload_bytes=100_000)


@pytest.fixture
def live(podium: Podium, limits: ServerLimits) -> Iterator[str]:
    """The server on a free loopback port, in a thread."""
    with serve_in_thread(create_app(podium, limits=limits)) as url:
        yield url


@pytest.fixture
def http(live: str) -> Iterator[httpx.Client]:
    # A program, not a browser: it names itself, as the page does (the server's CSRF check).
    with httpx.Client(base_url=live, timeout=30, headers={"X-Podium-Client": "tests"}) as client:
        yield client


def read_events(client: httpx.Client, run_id: str, after: int = 0) -> list[dict[str, Any]]:
    """Every SSE event of a run until it finishes or pauses."""
    events = []
    with client.stream("GET", f"/api/runs/{run_id}/events", params={"after": after}) as res:
        assert res.status_code == 200, res.read()
        assert res.headers["content-type"].startswith("text/event-stream")
        for line in res.iter_lines():
            if line.startswith("data:"):
                events.append(json.loads(line[5:]))
    return events
