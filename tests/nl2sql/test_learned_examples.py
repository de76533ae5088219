"""What Podium learned from its own runs reaches every model that decides an NL2SQL answer:
the verified examples of the database asked about are shown to each of the small model's
drafts and to the large model, and a workspace that has learned nothing gets exactly the
prompts it always got (those behind the measured NL2SQL figures)."""

from __future__ import annotations

import hashlib
import re
import sqlite3
from pathlib import Path

import numpy as np
import pytest

from podium.experts.base import ExpertContext
from podium.experts.nl2sql import NL2SQLExpert
from podium.experts.nl2sql.fewshot import ExamplePool, PoolExample, shipped_examples
from podium.models.provider import ModelProvider
from podium.tools.sql import Database

from ..scripted import RuleChatModel

QUESTION = "How many singers are from France?"
LEARNED = PoolExample(
    "How many singers are from Germany?",
    "SELECT count(*) FROM singer WHERE country = 'Germany'",
    "verified:music",
)
ELSEWHERE = [  # another Spider database, and a verified example of another workspace database
    PoolExample(
        "How many cars are from Japan?",
        "SELECT count(*) FROM cars WHERE country = 'Japan'",
        "car_1",
    ),
    PoolExample(
        "How many trains stop at Paris?",
        "SELECT count(*) FROM train WHERE stop = 'Paris'",
        "verified:railway",
    ),
]


class WordsEncoder:
    """A small deterministic sentence encoder (hashed bag of words), so the schema linker and
    the example retrieval run without loading the embedded model."""

    def encode(self, texts: list[str]) -> np.ndarray:
        out = np.zeros((len(texts), 64), dtype=np.float32)
        for i, text in enumerate(texts):
            for word in re.findall(r"\w+", text.lower()):
                out[i, int(hashlib.md5(word.encode()).hexdigest(), 16) % 64] += 1.0
        norms = np.linalg.norm(out, axis=1, keepdims=True)
        return out / np.where(norms == 0, 1, norms)


class Models(ModelProvider):
    encoder = WordsEncoder()

    def embedder(self, uri: str | None = None) -> WordsEncoder:  # type: ignore[override]
        return self.encoder


@pytest.fixture
def music(tmp_path: Path):
    path = tmp_path / "music.sqlite"
    con = sqlite3.connect(path)
    con.executescript(
        """
        CREATE TABLE singer (singer_id INTEGER PRIMARY KEY, name TEXT, country TEXT, age INTEGER);
        CREATE TABLE concert (concert_id INTEGER PRIMARY KEY, name TEXT, year INTEGER,
                              singer_id INTEGER REFERENCES singer(singer_id));
        INSERT INTO singer VALUES (1,'Joe','France',30),(2,'Ann','Germany',41),(3,'Li','France',25);
        INSERT INTO concert VALUES (1,'Spring',2014,1),(2,'Autumn',2015,2);
        """
    )
    con.commit()
    con.close()
    db = Database(f"sqlite:///{path}")
    yield db
    db.close()


def ask(db: Database, pool: ExamplePool, strategy: str = "full"):
    """The question through the expert with scripted models: three drafts that disagree, then
    the large model's query. Returns the result and every prompt, by role, in order."""
    prompts: dict[str, list[str]] = {"small": [], "large": []}
    drafts = [
        "SELECT COUNT(*) FROM singer",
        "SELECT COUNT(*) FROM concert",
        "SELECT name FROM singer",
    ]

    def small(messages):
        prompts["small"].append(messages[-1].content)
        return drafts[(len(prompts["small"]) - 1) % 3]

    def large(messages):
        prompts["large"].append(messages[-1].content)
        return "SELECT COUNT(*) FROM singer WHERE country = 'France'"

    models = Models({"small": RuleChatModel(rule=small), "large": RuleChatModel(rule=large)})
    # No fourth draft: the prompts below are the three drafts' and the large model's.
    expert = NL2SQLExpert(pool=pool, strategy=strategy, more_drafts=0)  # type: ignore[arg-type]
    result = expert.answer(db, QUESTION, ExpertContext(models=models), source="music")
    return result, prompts


SCHEMA = """\
CREATE TABLE concert (
  concert_id INTEGER PRIMARY KEY  -- e.g. 1, 2,
  name TEXT  -- e.g. 'Spring', 'Autumn',
  year INTEGER  -- e.g. 2014, 2015,
  singer_id INTEGER REFERENCES singer(singer_id)  -- e.g. 1, 2
);
CREATE TABLE singer (
  singer_id INTEGER PRIMARY KEY  -- e.g. 1, 2, 3,
  name TEXT  -- e.g. 'Joe', 'Ann', 'Li',
  country TEXT  -- e.g. 'France', 'Germany',
  age INTEGER  -- e.g. 30, 41, 25
);

-- Values from the question found in the data: singer.country = 'France'
"""
ASKED = "Question: How many singers are from France?\nSQL:"
# The prompts the expert wrote for this question before learned examples were shown to every
# draft (captured from that code): greedy draft, draft with other databases' examples, draft
# told how to join, the large model on its own.
BEFORE = [
    SCHEMA + ASKED,
    SCHEMA
    + "Examples of questions and their SQL from other databases (their tables and columns are "
    "not in this one; use only the schema above):\n\n"
    "Question: How many different countries do the authors come from?\n"
    "SQL: SELECT COUNT(DISTINCT country) FROM authors\n\n"
    "Question: How many authors are there?\nSQL: SELECT COUNT(*) FROM authors\n\n"
    "Question: How many cars are from Japan?\n"
    "SQL: SELECT count(*) FROM cars WHERE country = 'Japan'\n\n" + ASKED,
    SCHEMA + "-- Use only the tables the question needs; join them on their keys.\n" + ASKED,
    SCHEMA + ASKED,
]


def test_without_learned_examples_every_prompt_is_the_one_written_before(music):
    result, prompts = ask(music, ExamplePool([*shipped_examples(), *ELSEWHERE]))

    assert result.details["decision"] == "escalate -> finalised"
    assert prompts["small"] + prompts["large"] == BEFORE
    assert "learned_examples" not in result.details


def test_a_learned_example_reaches_every_draft_and_the_large_model(music):
    result, prompts = ask(music, ExamplePool([*shipped_examples(), *ELSEWHERE, LEARNED]))

    block = (
        "Questions about this database answered earlier, with their verified SQL (the question "
        "below may need a different query):\n\nQuestion: How many singers are from Germany?\n"
        "SQL: SELECT count(*) FROM singer WHERE country = 'Germany'\n\n"
    )
    assert len(prompts["small"]) == 3 and len(prompts["large"]) == 1
    for prompt in prompts["small"] + prompts["large"]:
        assert prompt.startswith(SCHEMA + block)  # after the schema, before anything else
        assert prompt.count(LEARNED.sql) == 1  # not again among the other databases' examples
        assert "Paris" not in prompt.split("from other databases")[0]  # only this database's
    # Without the block, each prompt is the one written before.
    assert [p.replace(block, "") for p in prompts["small"] + prompts["large"]] == BEFORE
    assert result.details["learned_examples"] == [LEARNED.question]
    assert result.output["rows"] == [[2]]


def test_the_large_model_finalising_the_drafts_sees_what_was_learned(music):
    result, prompts = ask(music, ExamplePool([*shipped_examples(), LEARNED]), "draft_finalise")

    assert result.details["large_calls"] == 1
    assert "A smaller model drafted these queries" in prompts["large"][0]
    assert LEARNED.sql in prompts["large"][0]


def test_learned_examples_of_another_database_are_not_shown_as_this_ones(music):
    railway = PoolExample(LEARNED.question, LEARNED.sql, "verified:railway")
    result, prompts = ask(music, ExamplePool([*shipped_examples(), railway]))

    assert all("answered earlier" not in p for p in prompts["small"] + prompts["large"])
    assert "learned_examples" not in result.details


def ask_copying(db: Database, learned: PoolExample):
    """Drafts by a small model that, shown learned examples, answers the second draft with the
    last one's query; otherwise with its own count of French singers."""
    prompts: list[str] = []

    def small(messages):
        prompt = messages[-1].content
        prompts.append(prompt)
        if len(prompts) == 2 and "answered earlier" in prompt:
            return learned.sql
        return "SELECT count(*) FROM singer WHERE country = 'France'"

    def large(messages):
        raise AssertionError("the large model is not needed")

    models = Models({"small": RuleChatModel(rule=small), "large": RuleChatModel(rule=large)})
    events: list[dict] = []
    ctx = ExpertContext(models=models, emit=events.append)
    pool = ExamplePool([*shipped_examples(), learned])
    return NL2SQLExpert(pool=pool).answer(db, QUESTION, ctx, source="music"), prompts, events


def test_a_draft_copying_a_learned_example_for_another_question_is_drawn_again(music):
    other = PoolExample(
        "List the names of the concerts held in 2014.",
        "SELECT name FROM concert WHERE year = 2014",
        "verified:music",
    )
    result, prompts, events = ask_copying(music, other)

    assert len(prompts) == 4  # the copy, then the second draft again without learned examples
    shown, again = prompts[1], prompts[2]
    assert "answered earlier" in shown and "answered earlier" not in again
    assert again == SCHEMA + shown.split(other.sql + "\n\n", 1)[1]  # the same, but for them
    drafts = [a["sql"] for a in result.details["attempts"]]
    assert len(drafts) == 3 and other.sql not in drafts
    assert result.details["decision"] == "agreed" and result.output["rows"] == [[2]]
    copy = {"origin": "draft-1", "sql": other.sql, "example": other.question}
    assert result.details["copied_examples"] == [copy]
    assert {"kind": "nl2sql_copy", **copy} in events


def test_a_draft_repeating_the_query_of_the_same_question_asked_before_is_kept(music):
    same = PoolExample(
        "How many singers are from France?",
        "SELECT count(*) FROM singer  WHERE country = 'France'",
        "verified:music",
    )
    result, prompts, _ = ask_copying(music, same)

    assert len(prompts) == 3 and "copied_examples" not in result.details
    assert result.details["decision"] == "agreed" and result.confidence == 1.0
