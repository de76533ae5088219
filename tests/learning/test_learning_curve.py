"""The learning-curve benchmark's bookkeeping: the split, the memo of model replies, resuming."""

from __future__ import annotations

import importlib.util
import json
import sys
from pathlib import Path

from langchain_core.language_models.fake_chat_models import FakeListChatModel
from langchain_core.messages import HumanMessage

ROOT = Path(__file__).resolve().parents[2]


def _bench():
    spec = importlib.util.spec_from_file_location(
        "learning_curve", ROOT / "benchmarks" / "learning_curve.py"
    )
    assert spec and spec.loader
    module = importlib.util.module_from_spec(spec)
    sys.modules["learning_curve"] = module
    spec.loader.exec_module(module)
    return module


lc = _bench()


def test_paraphrases_of_one_query_stay_in_one_half():
    items = [
        {"question": "How many singers?", "query": "SELECT count(*) FROM singer"},
        {"question": "Count the singers.", "query": "select  count(*) from singer;"},
        {"question": "Name the stadiums.", "query": "SELECT name FROM stadium"},
        {"question": "Which stadiums are there?", "query": "SELECT name FROM stadium"},
        {"question": "Oldest singer?", "query": "SELECT name FROM singer ORDER BY age DESC"},
    ]
    history, test = lc.split(items)
    assert [i["question"] for i in history] == [
        "How many singers?",
        "Count the singers.",
        "Oldest singer?",
    ]
    assert [i["question"] for i in test] == ["Name the stadiums.", "Which stadiums are there?"]


def _provider(calls, replies):
    return lc.MemoProvider({"small": FakeListChatModel(responses=replies)}, calls)


def _ask(provider, question, temperature=0.0):
    base = provider.base_chat(None, role="small")
    model = provider.tagged(base.bind(temperature=temperature, seed=0), None, "small")
    return model.invoke([HumanMessage(question)]).content


def test_the_same_prompt_is_answered_once_and_remembered_across_restarts(tmp_path):
    path = tmp_path / "calls.jsonl"
    calls = lc.Calls(path)
    provider = _provider(calls, ["SELECT 1", "SELECT 2", "SELECT 3"])
    assert _ask(provider, "How many?") == "SELECT 1"
    assert _ask(provider, "How many?") == "SELECT 1"  # from the memo, not the model's next reply
    assert _ask(provider, "How many?", temperature=0.7) == "SELECT 2"  # other options: asked
    assert (calls.made, calls.hits) == (2, 1)

    with path.open("a") as f:
        f.write('{"key": "cut sho')  # a line torn by a killed process
    again = lc.Calls(path)
    provider = _provider(again, ["SELECT 9"])
    assert _ask(provider, "How many?", temperature=0.7) == "SELECT 2"
    assert _ask(provider, "Which?") == "SELECT 9"
    assert (again.made, again.hits) == (1, 1)


def test_finished_questions_are_read_back_and_torn_lines_skipped(tmp_path):
    path = tmp_path / "outcomes.jsonl"
    row = {"phase": "before", "db_id": "singer", "question": "How many?", "correct": True}
    path.write_text(json.dumps(row) + "\n" + '{"phase": "after", "db_')
    assert lc.load_outcomes(path) == {("before", "singer", "How many?"): row}


def test_figures_give_the_share_with_its_interval_and_the_paired_changes():
    def row(q, correct, large, sql="SELECT 1"):
        return {
            "db_id": "d",
            "question": q,
            "correct": correct,
            "large_calls": large,
            "seconds": 1.0,
            "sql": sql,
        }

    before = [row("a", True, 0), row("b", False, 1), row("c", True, 1), row("d", True, 0)]
    after = [
        row("a", True, 0),
        row("b", True, 0, "SELECT 2"),
        row("c", False, 0),
        row("d", True, 0),
    ]
    s = lc.summary(before)
    assert (s["right"], s["large"], s["large_share"]) == (3, 2, 0.5)
    low, high = s["accuracy_95"]
    assert low < 0.75 < high
    assert lc.paired(before, after) == {
        "fixed": 1,
        "broken": 1,
        "large_saved": 2,
        "large_added": 0,
        "changed_sql": 1,
    }


def _shop(tmp_path):
    import sqlite3

    path = tmp_path / "shop.sqlite"
    con = sqlite3.connect(path)
    con.executescript(
        "CREATE TABLE singer (id INTEGER PRIMARY KEY, name TEXT, country TEXT);"
        "INSERT INTO singer VALUES (1, 'Ana', 'France'), (2, 'Bo', 'Spain'), (3, 'Cy', 'France');"
    )
    con.commit()
    con.close()
    return lc.Database(f"sqlite:///{path}")


def _drafts(*sqls):
    return {
        "attempts": [
            {"origin": f"draft-{i}", "role": "small", "sql": sql, "seconds": 1.0}
            for i, sql in enumerate(sqls)
        ]
    }


def _harvested(tmp_path, row):
    store = lc.RunStore(f"sqlite:///{tmp_path / 'store.sqlite'}")
    lc.record(store, "h-0", row)
    return [(e.input, e.sql, e.voucher) for e in lc.ExampleStore(store).harvest("h-0")]


def test_a_recorded_answer_whose_drafts_agree_is_learned_as_a_quorum_example(tmp_path):
    db = _shop(tmp_path)
    item = {
        "db_id": "shop",
        "question": "How many singers are from France?",
        "query": "SELECT count(*) FROM singer WHERE country = 'France'",
    }
    drafts = _drafts(
        "SELECT count(*) FROM singer WHERE country = 'France'",
        "SELECT COUNT(id) FROM singer WHERE country='France'",
        "SELECT count(*) FROM singer",
    )
    row = lc.replay(db, item, drafts, None)
    assert (row["decision"], row["large_calls"], row["correct"]) == ("agreed", 0, True)
    assert _harvested(tmp_path, row) == [
        (item["question"], "SELECT count(*) FROM singer WHERE country = 'France'", "quorum")
    ]


def test_disagreeing_drafts_need_the_large_models_record_and_its_repair(tmp_path):
    db = _shop(tmp_path)
    item = {
        "db_id": "shop",
        "question": "Which singers are from Spain?",
        "query": "SELECT name FROM singer WHERE country = 'Spain'",
    }
    drafts = _drafts(
        "SELECT name FROM singer WHERE country = 'Spain'",
        "SELECT name FROM singers",
        "SELECT country FROM singer",
    )
    assert lc.replay(db, item, drafts, None) is None  # escalated, and no record of the 1.5B
    large = {
        "attempts": [
            {"origin": "final", "role": "large", "sql": "SELECT nam FROM singer"},
            {
                "origin": "repair-1",
                "role": "large",
                "sql": "SELECT name FROM singer WHERE country = 'Spain'",
            },
        ]
    }
    row = lc.replay(db, item, drafts, large)
    assert row["decision"] == "escalate -> repair -> repaired"
    assert (row["large_calls"], row["correct"]) == (2, True)
    assert _harvested(tmp_path, row) == [
        (item["question"], "SELECT name FROM singer WHERE country = 'Spain'", "agreement")
    ]
