"""PostgreSQL as the store and the LangGraph checkpointer, chosen by URL in podium.toml, on a
real server started by scripts/postgres.sh."""

from __future__ import annotations

import time

import pytest
import sqlalchemy as sa

from podium import Podium, expert
from podium.graphs import pipeline
from podium.memory.store import RunStore
from podium.workspace import Workspace

from ..scripted import RuleChatModel, plan_json

pytestmark = pytest.mark.postgres

calls: list[str] = []


@expert
def lookup(text: str) -> str:
    """Looks up a fact and returns it."""
    calls.append(text)
    return f"fact about {text}"


def _answer(messages):
    if str(messages[0].content).startswith("You are the planner"):
        return plan_json(("s1", "lookup", "tides"), ("s2", "lookup", "moons"))
    return "Summary: " + str(messages[-1].content).split("Results:", 1)[-1]


def _on_postgres(ws: Workspace, url: str) -> Workspace:
    """The workspace with its store URL in podium.toml, loaded back as a user would."""
    ws.config.store_url = url
    ws.save()
    assert "postgresql+psycopg://" in (ws.root / "podium.toml").read_text()
    return Workspace.load(ws.root)


def _podium(ws: Workspace, **kwargs) -> Podium:
    return Podium(
        planner=RuleChatModel(rule=_answer),
        experts=[lookup],
        workspace=ws,
        builtins=False,
        plugins=False,
        warmup=False,
        semantic_check=False,
        **kwargs,
    )


def test_the_run_store_writes_and_reads_runs_on_postgresql(pg_url):
    store = RunStore(pg_url)
    assert store.engine.dialect.name == "postgresql"
    store.start_run("r1", "count orders", planner="local:smollm2")
    now = time.time()
    store.record_event({"type": "run_started", "run_id": "r1", "seq": 1, "ts": now})
    store.record_event(
        {"type": "step_started", "run_id": "r1", "seq": 2, "ts": now, "step_id": "s1",
         "expert": "nl2sql", "input": "count orders"}
    )  # fmt: skip
    store.record_event(
        {"type": "step_finished", "run_id": "r1", "seq": 3, "ts": now, "step_id": "s1",
         "expert": "nl2sql", "status": "ok", "output": {"rows": [[42]]}, "confidence": 0.8,
         "cost": {"model": "local:smollm2", "input_tokens": 120, "output_tokens": 9, "ms": 5.0}}
    )  # fmt: skip
    cost = {"input_tokens": 120, "output_tokens": 9, "ms": 5.0, "model_calls": 1}
    store.finish_run("r1", status="done", answer="42", error=None, cost=cost)

    run = RunStore(pg_url).get_run("r1")  # another store (another process would see the same)
    assert (run.status, run.answer) == ("done", "42")
    assert run.cost.model_dump(include=set(cost)) == cost
    [step] = run.steps
    assert (step.expert, step.status, step.output) == ("nl2sql", "ok", {"rows": [[42]]})
    assert step.cost.input_tokens == 120
    assert [e["type"] for e in run["events"]] == ["run_started", "step_started", "step_finished"]
    store.close()


def test_a_run_is_stored_and_checkpointed_in_postgresql_not_in_local_files(workspace, pg_url):
    ws = _on_postgres(workspace, pg_url)
    assert ws.checkpoint_url == pg_url  # the checkpointer follows the store by default
    calls.clear()
    result = _podium(ws).run("tides and moons", run_id="pg-run-1")

    assert result.status == "done"
    assert sorted(calls) == ["moons", "tides"]
    stored = RunStore(pg_url).get_run("pg-run-1")
    assert stored["status"] == "done" and len(stored["steps"]) == 2
    engine = sa.create_engine(pg_url)
    with engine.connect() as conn:
        n = conn.execute(
            sa.text("SELECT count(*) FROM checkpoints WHERE thread_id = 'pg-run-1'")
        ).scalar_one()
    engine.dispose()
    assert n > 0
    assert not (ws.data_dir / "checkpoints.sqlite").exists()
    assert not (ws.data_dir / "store.sqlite").exists()


def test_a_paused_run_resumes_from_postgresql_in_another_podium(workspace, pg_url):
    ws = _on_postgres(workspace, pg_url)
    calls.clear()
    wf = pipeline(("lookup", "tides"), ("lookup", "moons"), parallel=True, approve={"s2"})
    paused = _podium(ws, workflow=wf).run("tides and moons")
    assert paused.status == "awaiting_approval"
    assert calls == ["tides"]

    # A different Podium (as on another API server) picks the run up from the database.
    other = _podium(Workspace.load(ws.root), workflow=wf)
    done = other.resume(paused.run_id, approvals={"s2": True})
    assert done.status == "done"
    assert calls == ["tides", "moons"]  # s1 did not run again
    assert RunStore(pg_url).get_run(paused.run_id)["status"] == "done"


def test_a_checkpoint_url_can_name_its_own_database(workspace, pg_url, tmp_path):
    workspace.config.checkpoint_url = pg_url  # store stays SQLite, checkpoints go to PostgreSQL
    workspace.save()
    ws = Workspace.load(workspace.root)
    assert ws.store_url.startswith("sqlite:///") and ws.checkpoint_url == pg_url
    calls.clear()
    result = _podium(ws).run("tides and moons")
    assert result.status == "done"
    assert not (ws.data_dir / "checkpoints.sqlite").exists()


def test_an_unreachable_postgresql_gives_an_error_that_says_so(workspace):
    from podium.errors import StoreUnavailable

    workspace.config.checkpoint_url = "postgresql+psycopg://nobody@127.0.0.1:1/nowhere"
    workspace.save()
    with pytest.raises(StoreUnavailable, match="cannot reach the checkpoint database"):
        _podium(Workspace.load(workspace.root)).run("tides and moons")


HOSTILE_SQL = [
    "DROP TABLE orders",
    "DELETE FROM orders",
    "UPDATE orders SET total = 0",
    "INSERT INTO orders VALUES (99, 1.0)",
    "SELECT 1; DROP TABLE orders",
    "SELECT 1 /* ; DELETE FROM orders */; DELETE FROM orders",
    "WITH gone AS (DELETE FROM orders RETURNING *) SELECT * FROM gone",
    "SELECT * INTO stolen FROM orders",
    "COPY orders TO '/tmp/orders.csv'",
]


def test_nl2sql_databases_on_postgresql_read_and_refuse_every_write(pg_url):
    """The NL2SQL expert's database layer on a real PostgreSQL server: the schema is read,
    a SELECT runs, and no write gets through (the AST guard refuses it; the connection itself
    is read-only underneath)."""
    from podium.errors import SQLRefused
    from podium.tools.sql import Database

    admin = sa.create_engine(pg_url)
    with admin.begin() as conn:
        conn.execute(sa.text("CREATE TABLE orders (id integer primary key, total numeric)"))
        conn.execute(sa.text("INSERT INTO orders VALUES (1, 10.5), (2, 20.0)"))

    db = Database(pg_url)
    assert db.dialect == "postgres"
    assert db.execute("SELECT COUNT(*) AS n FROM orders").rows == [(2,)]
    assert "orders" in {t.name for t in db.schema().tables}
    for sql in HOSTILE_SQL:
        with pytest.raises(SQLRefused):
            db.execute(sql)
    with db.engine.connect() as conn, pytest.raises(sa.exc.DBAPIError, match="read-only"):
        conn.execute(sa.text("DELETE FROM orders"))  # below the guard: the session refuses

    with admin.connect() as conn:
        assert conn.execute(sa.text("SELECT id, total FROM orders ORDER BY id")).all() == [
            (1, 10.5),
            (2, 20.0),
        ]
    admin.dispose()
