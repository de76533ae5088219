"""Every source the workspace has: a database connected from the page is described to the
planner, listed with its tables, asked by the steps whose question is about it, and removable."""

from __future__ import annotations

import json
import sqlite3
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
import sqlalchemy as sa
from pydantic import BaseModel

from podium import Expert, ExpertContext, ExpertResult, Podium
from podium.server import create_app
from podium.server.background import serve_in_thread
from podium.workspace import DatabaseSpec

from ..scripted import RuleChatModel
from .conftest import read_events

PROMPTS: list[str] = []


def employees_db(path: Path) -> Path:
    """Five employees in three offices, three of them in Berlin."""
    with sqlite3.connect(path) as conn:
        conn.executescript(
            """
            CREATE TABLE offices (id INTEGER PRIMARY KEY, city TEXT, country TEXT);
            CREATE TABLE employees (id INTEGER PRIMARY KEY, name TEXT, role TEXT,
                                    office_id INTEGER REFERENCES offices(id));
            INSERT INTO offices VALUES (1, 'Berlin', 'Germany'), (2, 'Lisbon', 'Portugal'),
                                       (3, 'Oslo', 'Norway');
            INSERT INTO employees VALUES (1, 'Ada', 'engineer', 1), (2, 'Bo', 'designer', 1),
                (3, 'Cy', 'manager', 1), (4, 'Di', 'engineer', 2), (5, 'Ed', 'sales', 3);
            """
        )
    return path


def shop_db(path: Path) -> Path:
    with sqlite3.connect(path) as conn:
        conn.executescript(
            """
            CREATE TABLE customers (id INTEGER PRIMARY KEY, name TEXT, city TEXT);
            CREATE TABLE orders (id INTEGER PRIMARY KEY, customer_id INTEGER, total REAL);
            INSERT INTO customers VALUES (1, 'Ann', 'Berlin');
            """
        )
    return path


class Question(BaseModel):
    question: str
    database: str | None = None


class TableLister(Expert):
    """Says which database it opened and lists its tables."""

    name = "tables"
    description = "Answers questions from the workspace's databases."
    input_model = Question

    def run(self, request: BaseModel, ctx: ExpertContext) -> ExpertResult:
        assert isinstance(request, Question) and ctx.workspace is not None
        spec = ctx.workspace.database(request.database)
        engine = sa.create_engine(ctx.workspace.database_url(request.database))
        with engine.connect() as conn:
            tables = sorted(sa.inspect(conn).get_table_names())
        engine.dispose()
        return ExpertResult(output=f"{spec.name}: {', '.join(tables)}", confidence=0.9)


def rule(messages: list[Any]) -> str:
    if str(messages[0].content).startswith("You are the planner"):
        PROMPTS.append(str(messages[0].content))
        task = str(next(m for m in reversed(messages) if m.type == "human").content)
        return json.dumps({"steps": [{"id": "s1", "expert": "tables", "input": task}]})
    return "Summary: " + str(messages[-1].content).split("Results:", 1)[-1].strip()


@pytest.fixture
def server(workspace: Any) -> Iterator[str]:
    yield from serve(workspace)


def serve(workspace: Any) -> Iterator[str]:
    """A server over a workspace with the shop database; staff.sqlite waits beside it."""
    shop_db(workspace.root / "shop.sqlite")
    employees_db(workspace.root / "staff.sqlite")
    workspace.config.databases.append(DatabaseSpec(name="shop", url="sqlite:///shop.sqlite"))
    workspace.save()
    PROMPTS.clear()
    podium = Podium(
        planner=RuleChatModel(rule=rule),
        experts=[TableLister()],
        workspace=workspace,
        builtins=False,
        plugins=False,
        warmup=False,
        semantic_check=False,
    )
    with serve_in_thread(create_app(podium)) as url:
        yield url


def ask(http: httpx.Client, question: str) -> list[dict[str, Any]]:
    run = http.post("/api/runs", json={"message": question}).json()
    return read_events(http, run["run_id"])


def test_a_newly_connected_database_is_described_listed_and_asked(server: str) -> None:
    with httpx.Client(base_url=server, timeout=30, headers={"X-Podium-Client": "t"}) as http:
        events = ask(http, "How many orders are there?")
        assert "database staff" not in PROMPTS[-1]
        assert next(e for e in events if e["type"] == "step_finished")["output"] == (
            "shop: customers, orders"
        )
        res = http.post(
            "/api/databases",
            json={"name": "staff", "url": "sqlite:///staff.sqlite", "description": "Our people"},
        )
        assert res.status_code == 201, res.text
        events = ask(http, "How many employees work in the Berlin office?")
        assert (
            "- database staff: Our people (tables: employees (name, role, office_id), "
            in (PROMPTS[-1])
        )
        note = next(e for e in events if e["type"] == "expert_note")
        assert note["kind"] == "database" and note["data"]["database"] == "staff"
        assert "employee" in note["data"]["why"] and "office" in note["data"]["why"]
        finished = next(e for e in events if e["type"] == "step_finished")
        assert finished["output"] == "staff: employees, offices"

        # the shop's questions still go to the shop
        events = ask(http, "Which customers placed the largest orders?")
        assert next(e for e in events if e["type"] == "step_finished")["output"] == (
            "shop: customers, orders"
        )

        listed = {d["name"]: d for d in http.get("/api/workspace").json()["databases"]}
        assert listed["staff"]["tables"] == [
            {"name": "employees", "rows": 5},
            {"name": "offices", "rows": 3},
        ]
        assert http.delete("/api/databases/staff").status_code == 204
        assert [d["name"] for d in http.get("/api/workspace").json()["databases"]] == ["shop"]
        ask(http, "How many employees work in the Berlin office?")
        assert "database staff" not in PROMPTS[-1]
        assert http.delete("/api/databases/staff").status_code == 404
