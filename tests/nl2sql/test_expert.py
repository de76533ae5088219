"""The NL2SQL expert on real Spider databases with the real embedded models, and its repair
loop against an OpenAI-compatible endpoint."""

from __future__ import annotations

import pytest
import sqlglot

from podium.errors import ConfigError
from podium.experts.base import ExpertContext
from podium.experts.nl2sql import NL2SQLExpert
from podium.models.provider import ModelProvider

from ..reliability.fake_openai import FakeOpenAI
from ..scripted import RuleChatModel

pytestmark = pytest.mark.slow


def test_the_embedded_models_answer_with_a_voted_executed_query(spider_db):
    """Structure, not luck: whether a 135M model gets a question right is what the eval
    measures; here the answer must be a real, executed, voted query over the linked table."""
    db, _ = spider_db("concert_singer")
    events: list[dict] = []
    expert = NL2SQLExpert(drafts=3, strategy="vote")
    ctx = ExpertContext(models=ModelProvider(), emit=events.append)

    result = expert.answer(db, "How many singers do we have?", ctx)

    assert result.ok, result.error
    sql = result.output["sql"]
    assert _tables(sql) == {"singer"}  # the link table is not linked on its name alone
    assert result.output["rows"] == [list(r) for r in db.execute(sql).rows]
    assert result.details["linked_schema"]["tables"][0]["name"] == "singer"
    assert len(result.details["candidates"]) == 3
    assert sum(result.details["votes"]) == 3
    assert result.details["vote"][0]["sql"] == sql
    assert result.confidence == pytest.approx(result.details["agreement"])
    assert [e["kind"] for e in events].count("sql_candidate") == 3
    assert events[0]["kind"] == "schema_linked"


def _tables(sql: str) -> set[str]:
    return {t.name for t in sqlglot.parse_one(sql, read="sqlite").find_all(sqlglot.exp.Table)}


def test_single_strategy_makes_one_greedy_draft(spider_db):
    db, _ = spider_db("concert_singer")
    expert = NL2SQLExpert(strategy="single")

    result = expert.answer(
        db, "What is the average age of singers from France?", ExpertContext(models=ModelProvider())
    )

    assert [c["origin"] for c in result.details["candidates"]] == ["draft-0"]
    assert result.ok and result.output["sql"].upper().startswith("SELECT")


def test_a_failed_draft_is_repaired_by_the_large_model_with_the_error_fed_back(spider_db):
    db, _ = spider_db("concert_singer")
    seen: list[str] = []

    def large_reply(body):
        seen.append(body["messages"][-1]["content"])
        return 200, "```sql\nSELECT COUNT(*) FROM singer WHERE Country = 'France'\n```"

    small = RuleChatModel(
        rule=lambda messages: "SELECT COUNT(*) FROM singer WHERE Nation = 'France'"
    )
    with FakeOpenAI(large_reply) as server:
        expert = NL2SQLExpert(model="small", drafts=2, large=server.uri)
        ctx = ExpertContext(models=ModelProvider({"small": small}))
        result = expert.answer(db, "How many singers are from France?", ctx)

    assert len(seen) == 1 and "no such column: Nation" in seen[0]
    origins = [(c["origin"], c["status"]) for c in result.details["candidates"]]
    assert origins == [("draft-0", "error"), ("draft-1", "error"), ("repair-large", "ok")]
    assert result.ok and "Country = 'France'" in result.output["sql"]
    assert result.output["rows"] == [
        list(r) for r in db.execute("SELECT COUNT(*) FROM singer WHERE Country = 'France'").rows
    ]
    assert result.details["repairs"] == 1
    assert result.confidence == pytest.approx(2 / 4)  # the large model's 2 votes of 4


def test_vote_without_repair_reports_the_failure_with_every_reason(spider_db):
    db, _ = spider_db("concert_singer")
    small = RuleChatModel(rule=lambda messages: "SELECT Nme FROM singer")
    expert = NL2SQLExpert(model="small", drafts=2, strategy="vote")

    result = expert.answer(
        db, "List the singers.", ExpertContext(models=ModelProvider({"small": small}))
    )

    assert not result.ok
    assert "no such column: Nme" in result.error
    assert result.confidence == 0


def test_bad_configuration_is_refused_with_the_fix():
    with pytest.raises(ConfigError, match="unknown nl2sql strategy"):
        NL2SQLExpert(strategy="best")  # type: ignore[arg-type]
    with pytest.raises(ConfigError, match="at least one draft"):
        NL2SQLExpert(drafts=0)
