"""The NL2SQL expert's cascade end to end on a real Spider database: scripted models to pin
each path (agreement, escalation with the drafts in context, repair with the error fed back),
and the real ladder on a few Spider questions to show the decisions are recorded."""

from __future__ import annotations

import json

import pytest

from podium.errors import ConfigError
from podium.experts.base import ExpertContext
from podium.experts.nl2sql import NL2SQLExpert
from podium.models.provider import ModelProvider

from ..reliability.fake_openai import FakeOpenAI
from ..scripted import RuleChatModel


def test_bad_configuration_is_refused_with_the_fix():
    with pytest.raises(ConfigError, match="unknown nl2sql strategy"):
        NL2SQLExpert(strategy="best")  # type: ignore[arg-type]
    with pytest.raises(ConfigError, match="at least one draft"):
        NL2SQLExpert(drafts=0)
    with pytest.raises(ConfigError, match="quorum 4 must be between 1 and drafts"):
        NL2SQLExpert(drafts=3, quorum=4)
    with pytest.raises(ConfigError, match="more_drafts cannot be negative"):
        NL2SQLExpert(more_drafts=-1)


def _scripted(*replies: str) -> tuple[RuleChatModel, list[str]]:
    """A model answering ``replies`` in turn (the last one again when they run out), and the
    prompts it saw."""
    seen: list[str] = []

    def rule(messages):
        seen.append(str(messages[-1].content))
        return replies[min(len(seen), len(replies)) - 1]

    return RuleChatModel(rule=rule), seen


@pytest.mark.slow  # links with the real embedded encoder
def test_agreeing_drafts_answer_without_the_large_model(spider_db):
    db, _ = spider_db("concert_singer")
    small, _ = _scripted("SELECT COUNT(*) FROM singer", "SELECT count(*) FROM singer", "x")
    large, asked = _scripted("SELECT 0")
    events: list[dict] = []
    ctx = ExpertContext(models=ModelProvider({"small": small, "large": large}), emit=events.append)

    result = NL2SQLExpert().answer(db, "How many singers are there?", ctx)

    assert result.ok and result.output["rows"] == [[6]]
    assert result.details["decision"] == "agreed"
    assert result.details["large_calls"] == 0 and asked == []
    assert result.confidence == 0.667  # 2 of 3 drafts
    assert [a["origin"] for a in result.details["attempts"]] == ["draft-0", "draft-1", "draft-2"]
    decisions = [e for e in events if e["kind"] == "nl2sql_decision"]
    assert decisions == [
        {
            "kind": "nl2sql_decision",
            "action": "agreed",
            "reason": "2 of 3 drafts returned the same rows",
            "chosen": 0,
            "agreement": 2,
            "confidence": 0.667,
        }
    ]


@pytest.mark.slow
def test_in_draft_finalise_the_large_model_sees_the_drafts_results_and_errors(spider_db):
    db, _ = spider_db("concert_singer")
    small, _ = _scripted(
        "SELECT COUNT(*) FROM singer",
        "SELECT COUNT(*) FROM stadium",
        "SELECT COUNT(*) FROM singr",
    )
    large, asked = _scripted("```sql\nSELECT COUNT(*) FROM singer WHERE Age > 0\n```")
    ctx = ExpertContext(models=ModelProvider({"small": small, "large": large}))

    result = NL2SQLExpert(strategy="draft_finalise").answer(db, "How many singers are there?", ctx)

    assert len(asked) == 1
    prompt = asked[0]
    assert "SELECT COUNT(*) FROM singer\n  -> 6" in prompt
    assert "SELECT COUNT(*) FROM singr\n  -> error: no such table: singr" in prompt
    assert "CREATE TABLE singer" in prompt and "Question: How many singers are there?" in prompt
    assert result.details["decision"] == "escalate -> finalised"
    assert result.output["sql"] == "SELECT COUNT(*) FROM singer WHERE Age > 0"
    assert result.details["decisions"][1]["drafts_agreeing_with_final"] == 1
    assert result.details["large_calls"] == 1


@pytest.mark.slow
def test_by_default_disagreeing_drafts_leave_the_large_model_to_write_its_own_query(spider_db):
    db, _ = spider_db("concert_singer")
    small, _ = _scripted(
        "SELECT COUNT(*) FROM singer",
        "SELECT COUNT(*) FROM stadium",
        "SELECT COUNT(*) FROM singr",
    )
    large, asked = _scripted("```sql\nSELECT COUNT(*) FROM singer\n```")
    ctx = ExpertContext(models=ModelProvider({"small": small, "large": large}))

    result = NL2SQLExpert().answer(db, "How many singers are there?", ctx)

    assert len(asked) == 1
    assert "CREATE TABLE singer" in asked[0] and "singr" not in asked[0]
    # its own zero-shot prompt: with examples in it the 1.5B copied one instead of answering
    assert "Examples of questions" not in asked[0]
    # a fourth draft first (draft-0's rows were sound), which failed like the third
    assert result.details["decision"] == "more -> escalate -> finalised"
    assert result.output["rows"] == [[6]]
    assert result.details["decisions"][2]["drafts_agreeing_with_final"] == 1


@pytest.mark.slow
def test_a_further_draft_that_sides_with_one_draft_spares_the_large_model(spider_db):
    db, _ = spider_db("concert_singer")
    small, _ = _scripted(
        "SELECT COUNT(*) FROM singer",
        "SELECT COUNT(*) FROM stadium",
        "SELECT COUNT(*) FROM singr",
        "SELECT count(*) FROM singer",
    )
    large, asked = _scripted("SELECT 0")
    ctx = ExpertContext(models=ModelProvider({"small": small, "large": large}))

    result = NL2SQLExpert(more_drafts=1).answer(db, "How many singers are there?", ctx)

    assert asked == [] and result.details["large_calls"] == 0
    assert result.output["rows"] == [[6]]
    assert result.details["decision"] == "more -> agreed"
    assert result.details["decisions"][1]["reason"] == "2 of 4 drafts returned the same rows"


@pytest.mark.slow
def test_two_drafts_disputed_by_a_third_go_to_the_large_model(spider_db):
    db, _ = spider_db("concert_singer")
    small, drafted = _scripted(
        "SELECT COUNT(*) FROM singer", "SELECT COUNT(*) FROM stadium", "SELECT count(*) FROM singer"
    )
    large, asked = _scripted("SELECT COUNT(*) FROM singer")
    ctx = ExpertContext(models=ModelProvider({"small": small, "large": large}))

    result = NL2SQLExpert().answer(db, "How many singers are there?", ctx)

    assert len(drafted) == 3 and len(asked) == 1  # no further draft: the large model decides
    assert result.details["decisions"][0]["reason"] == (
        "2 of 3 drafts returned the same rows, but draft-1 returned other rows"
    )
    assert result.details["decision"] == "escalate -> finalised"


@pytest.mark.slow
def test_examples_in_the_escalation_prompt_are_a_choice(spider_db):
    db, _ = spider_db("concert_singer")
    small, _ = _scripted("SELECT COUNT(*) FROM singer", "SELECT COUNT(*) FROM stadium")
    large, asked = _scripted("SELECT COUNT(*) FROM singer")
    ctx = ExpertContext(models=ModelProvider({"small": small, "large": large}))

    # no further draft, so the two that disagree go to the large model
    expert = NL2SQLExpert(drafts=2, escalation_shots=2, more_drafts=0)
    expert.answer(db, "How many singers are there?", ctx)

    assert "Examples of questions and their SQL from other databases" in asked[0]


@pytest.mark.slow
def test_a_failed_final_query_is_repaired_by_a_remote_large_model_told_the_error(spider_db):
    db, _ = spider_db("concert_singer")
    small, _ = _scripted("SELECT Nme FROM singer")
    seen: list[list[dict]] = []

    def large_reply(body):
        seen.append(body["messages"])
        if len(seen) == 1:
            return 200, "SELECT COUNT(*) FROM singer WHERE Nation = 'France'"
        return 200, "```sql\nSELECT COUNT(*) FROM singer WHERE Country = 'France'\n```"

    with FakeOpenAI(large_reply) as server:
        ctx = ExpertContext(models=ModelProvider({"small": small, "large": server.uri}))
        result = NL2SQLExpert().answer(db, "How many singers are from France?", ctx)

    assert len(seen) == 2
    assert "no such column: Nation" in seen[1][-1]["content"]
    assert seen[1][-2] == {
        "role": "assistant",
        "content": "SELECT COUNT(*) FROM singer WHERE Nation = 'France'",
    }
    assert result.details["decision"] == "escalate -> repair -> repaired"
    assert [a["origin"] for a in result.details["attempts"]][-2:] == ["final", "repair-1"]
    assert result.ok and result.output["rows"] == [
        list(r) for r in db.execute("SELECT COUNT(*) FROM singer WHERE Country = 'France'").rows
    ]


def test_a_repair_names_the_table_that_has_the_missing_column(spider_db):
    """Told only "no such column: Year", the large model wrote the same query again; the
    repair request says which table has it, with that table's columns to join on."""
    db, _ = spider_db("concert_singer")
    small, _ = _scripted("SELECT Nme FROM stadium")
    large, asked = _scripted(
        "SELECT Name FROM stadium ORDER BY Year DESC LIMIT 1",
        "SELECT T1.Name FROM stadium AS T1 JOIN concert AS T2 ON T1.Stadium_ID = T2.Stadium_ID "
        "ORDER BY T2.Year DESC LIMIT 1",
    )
    ctx = ExpertContext(models=ModelProvider({"small": small, "large": large}))

    result = NL2SQLExpert().answer(db, "Which stadium hosted the latest concert?", ctx)

    assert "no such column: Year" in asked[1]
    assert (
        "Year is a column of: concert (concert_ID, concert_Name, Theme, Stadium_ID, Year)"
        in (asked[1])
    )
    assert result.details["decision"].endswith("repair -> repaired") and result.ok


def test_a_repair_says_when_no_table_has_the_column(spider_db):
    from podium.experts.nl2sql.prompts import column_owners

    db, _ = spider_db("concert_singer")
    assert column_owners(db, "no such column: T2.wingspan") == (
        " No table has a column named wingspan."
    )
    assert column_owners(db, 'column "year" does not exist').startswith(" year is a column of")
    assert column_owners(db, 'near "FROM": syntax error') == ""
    wrong_alias = "SELECT T2.Name FROM singer AS T1 JOIN concert AS T2 ON T1.Singer_ID = T2.Year"
    assert column_owners(db, "no such column: T2.Name", wrong_alias).startswith(
        " In that query T2 is concert, which has no column Name. Name is a column of: singer ("
    )


def test_a_repair_names_a_tables_own_key_for_a_column_named_after_it(tmp_path):
    """The demo: the 1.5B counted ``order_id`` on ``orders`` twice; told only that
    order_items has such a column, it never used ``orders.id``."""
    from podium.demo.shop import build_shop_db
    from podium.experts.nl2sql.prompts import column_owners
    from podium.tools.sql import Database

    shop = Database(f"sqlite:///{build_shop_db(tmp_path / 'shop.sqlite', customers=5, orders=5)}")
    counted = "SELECT COUNT(order_id) FROM orders WHERE status = 'returned'"

    said = column_owners(shop, "no such column: order_id", counted)

    assert said == (
        " orders has no column order_id: its own key is orders.id (order_id in other tables "
        "refers to it)."
    )
    # a query that does not read orders is told only where the column is
    elsewhere = column_owners(shop, "no such column: order_id", "SELECT order_id FROM products")
    assert elsewhere.startswith(" order_id is a column of: order_items")


SPIDER_QUESTIONS = [
    ("concert_singer", "How many singers do we have?"),
]


@pytest.mark.slow  # the real ladder: the small and large roles as the workspace maps them
def test_the_ladder_answers_a_spider_question_and_records_every_decision(spider_db, spider):
    models = ModelProvider()
    expert = NL2SQLExpert()
    for db_id, question in SPIDER_QUESTIONS:
        db, _ = spider_db(db_id)
        events: list[dict] = []

        result = expert.answer(db, question, ExpertContext(models=models, emit=events.append))

        details = result.details
        recorded = [e for e in events if e["kind"] == "nl2sql_decision"]
        assert [e["action"] for e in recorded] == [d["action"] for d in details["decisions"]]
        assert details["decision"] == " -> ".join(d["action"] for d in details["decisions"])
        assert recorded[0]["action"] in ("agreed", "escalate")
        assert recorded[-1]["action"] in ("agreed", "finalised", "repaired", "fallback", "failed")
        drafts = [a for a in details["attempts"] if a["role"] == "small"]
        assert [a["origin"] for a in drafts] == ["draft-0", "draft-1", "draft-2"]
        escalated = recorded[0]["action"] == "escalate"
        assert details["large_calls"] == (len(details["attempts"]) - 3 if escalated else 0)
        if result.ok:
            assert result.output["rows"] == [
                list(r) for r in db.execute(result.output["sql"]).rows[:20]
            ]
        json.dumps(details, default=str)  # what the step stores is plain data


@pytest.mark.slow
def test_when_no_query_runs_the_user_reads_what_happened_not_the_sql(spider_db):
    db, _ = spider_db("concert_singer")
    small, _ = _scripted("SELECT Nme FROM singer", "SELECT x FROM singr")
    large, _ = _scripted("SELECT Name FROM singers")
    ctx = ExpertContext(models=ModelProvider({"small": small, "large": large}))

    result = NL2SQLExpert(drafts=2).answer(db, "List the singers' names.", ctx)

    assert result.error is not None
    assert result.error.startswith("none of the 4 queries written for it ran on the database")
    assert "no such table: singers" in result.error and "SELECT" not in result.error
    assert [a["sql"] for a in result.details["attempts"]][:2] == [
        "SELECT Nme FROM singer",
        "SELECT x FROM singr",
    ]
