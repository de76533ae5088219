"""The store's schema: fresh stores, reopening, and stores written before migrations."""

from __future__ import annotations

import time
from pathlib import Path

import sqlalchemy as sa
from sqlalchemy.orm import Session

from podium.memory import ConversationStore, RunStore
from podium.memory.documents import DocumentStore
from podium.memory.schema import current_revision, head_revision


def _old_schema(url: str) -> None:
    """The tables exactly as Podium 0.1 created them (``create_all``, no alembic_version)."""
    engine = sa.create_engine(url)
    ddl = [
        """CREATE TABLE runs (id VARCHAR(64) NOT NULL, task TEXT NOT NULL,
        status VARCHAR(24) NOT NULL, answer TEXT, error TEXT, planner VARCHAR(200) NOT NULL,
        workspace VARCHAR(500) NOT NULL, plan JSON, cost JSON, conversation_id VARCHAR(64),
        created_at FLOAT NOT NULL, finished_at FLOAT, PRIMARY KEY (id))""",
        """CREATE TABLE steps (run_id VARCHAR(64) NOT NULL, step_id VARCHAR(32) NOT NULL,
        expert VARCHAR(64) NOT NULL, input TEXT NOT NULL, status VARCHAR(24) NOT NULL,
        output JSON, confidence FLOAT NOT NULL, error TEXT, model VARCHAR(200) NOT NULL,
        input_tokens INTEGER NOT NULL, output_tokens INTEGER NOT NULL, ms FLOAT NOT NULL,
        PRIMARY KEY (run_id, step_id),
        FOREIGN KEY(run_id) REFERENCES runs (id) ON DELETE CASCADE)""",
        """CREATE TABLE events (run_id VARCHAR(64) NOT NULL, seq INTEGER NOT NULL,
        type VARCHAR(32) NOT NULL, ts FLOAT NOT NULL, data JSON NOT NULL,
        PRIMARY KEY (run_id, seq), FOREIGN KEY(run_id) REFERENCES runs (id) ON DELETE CASCADE)""",
        """CREATE TABLE conversations (id VARCHAR(64) NOT NULL, title VARCHAR(200) NOT NULL,
        created_at FLOAT NOT NULL, updated_at FLOAT NOT NULL, PRIMARY KEY (id))""",
        """CREATE TABLE messages (id INTEGER NOT NULL, conversation_id VARCHAR(64) NOT NULL,
        role VARCHAR(16) NOT NULL, content TEXT NOT NULL, run_id VARCHAR(64),
        created_at FLOAT NOT NULL, PRIMARY KEY (id),
        FOREIGN KEY(conversation_id) REFERENCES conversations (id) ON DELETE CASCADE)""",
    ]
    now = time.time()
    with engine.begin() as conn:
        for statement in ddl:
            conn.exec_driver_sql(statement)
        conn.exec_driver_sql(
            "INSERT INTO runs VALUES ('r1', 'old task', 'done', 'old answer', NULL, 'p', 'w', "
            f"NULL, NULL, 'c1', {now}, {now})"
        )
        conn.exec_driver_sql(f"INSERT INTO conversations VALUES ('c1', 'old chat', {now}, {now})")
        conn.exec_driver_sql(
            f"INSERT INTO messages VALUES (1, 'c1', 'user', 'hello from 0.1', 'r1', {now})"
        )
    engine.dispose()


def test_a_store_written_with_the_old_schema_opens_in_the_new_version(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'old.sqlite'}"
    _old_schema(url)

    runs = RunStore(url)

    assert runs.get_run("r1")["answer"] == "old answer"
    assert ConversationStore(url).messages("c1")[0]["content"] == "hello from 0.1"
    assert current_revision(runs.engine) == head_revision()
    tables = set(sa.inspect(runs.engine).get_table_names())
    assert {"documents", "chunks", "facts", "alembic_version"} <= tables
    # The new version writes into the adopted store as into a fresh one.
    runs.start_run("r2", "new task")
    runs.finish_run("r2", status="done", answer="new", error=None, cost=None)
    assert {r.run_id for r in RunStore(url).list_runs()} == {"r1", "r2"}


def test_runs_and_conversations_survive_reopening(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'store.sqlite'}"
    store = RunStore(url)
    store.start_run("abc", "count the owls", planner="local:smollm2")
    store.record_event({"run_id": "abc", "seq": 1, "type": "run_started", "ts": 1.0})
    store.finish_run("abc", status="done", answer="3 owls", error=None, cost={"input_tokens": 5})
    store.close()
    chats = ConversationStore(url)
    conv = chats.create()
    chats.append(conv, "user", "how many owls?")
    chats.engine.dispose()

    again = RunStore(url)
    run = again.get_run("abc")
    assert (run.answer, run.cost.input_tokens, len(run.events)) == ("3 owls", 5, 1)
    assert ConversationStore(url).messages(conv)[0]["content"] == "how many owls?"


def test_a_fresh_store_is_created_at_the_newest_revision(tmp_path: Path) -> None:
    store = DocumentStore(f"sqlite:///{tmp_path / 's.sqlite'}")
    assert current_revision(store.engine) == head_revision()
    with Session(store.engine) as s:
        assert s.execute(sa.text("SELECT count(*) FROM chunks")).scalar() == 0


def test_earlier_turns_are_found_by_what_they_say(tmp_path: Path) -> None:
    chats = ConversationStore(f"sqlite:///{tmp_path / 'store.sqlite'}")
    conv = chats.create()
    chats.append(conv, "user", "My order number is 7781 and the parcel never arrived.")
    for i in range(10):
        chats.append(conv, "user", f"Unrelated question {i} about opening hours.")
    found = chats.relevant(conv, "what was the order number of the missing parcel?", k=1)
    assert "7781" in found[0]["content"]
