"""The agreement cascade's decisions, from scripted attempts: when drafts agree the large
model is not called; when they disagree or fail it is; its failures are repaired; when
repairs run out the best executed query is kept — and every decision says why."""

from __future__ import annotations

import sqlite3
from collections.abc import Iterator
from pathlib import Path

import pytest

from podium.experts.nl2sql.cascade import (
    Attempt,
    after_drafts,
    after_final,
    describe,
    refused_writes,
)
from podium.experts.nl2sql.expert import run_attempt
from podium.tools.sql import Database, QueryResult


def ran(origin: str, *rows: tuple, role: str = "small") -> Attempt:
    result = QueryResult(
        sql=f"SELECT ... -- {origin}",
        columns=["c"] * (len(rows[0]) if rows else 1),
        rows=list(rows),
        row_count=len(rows),
        truncated=False,
        ms=1.0,
    )
    return Attempt(origin, role, result.sql, "ok", result=result)


def failed(origin: str, error: str = "no such column: Nme", role: str = "small") -> Attempt:
    return Attempt(origin, role, "SELECT Nme FROM singer", "error", error=error)


def test_two_drafts_with_the_same_rows_are_accepted_without_the_large_model():
    drafts = [ran("draft-0", (6,)), ran("draft-1", (6,)), failed("draft-2")]

    decision = after_drafts(drafts, quorum=2)

    assert decision.action == "agreed" and decision.final
    assert decision.chosen == 0 and decision.agreement == 2
    assert decision.confidence == 2 / 3
    assert decision.reason == "2 of 3 drafts returned the same rows"


def test_two_agreeing_drafts_disputed_by_a_third_with_other_rows_escalate():
    drafts = [ran("draft-0", (6,)), ran("draft-1", (5,)), ran("draft-2", (6,))]

    decision = after_drafts(drafts, quorum=2, more=1)

    assert decision.action == "escalate" and decision.agreement == 2
    assert decision.reason == (
        "2 of 3 drafts returned the same rows, but draft-1 returned other rows"
    )


def test_without_an_agreement_the_small_model_drafts_again_before_the_large_one():
    drafts = [ran("draft-0", (6,)), ran("draft-1", (5,)), failed("draft-2")]

    decision = after_drafts(drafts, quorum=2, more=1)

    assert decision.action == "more" and not decision.final
    assert decision.reason.endswith("the small model drafts again")


def test_no_further_draft_when_it_could_not_complete_an_agreement():
    # Nothing returned rows, so one more draft would stand alone: straight to the large model.
    nothing = [failed("draft-0"), ran("draft-1"), failed("draft-2")]
    # Rows, but with a shape problem: such a draft does not count towards an agreement.
    misshapen = [failed("draft-0"), ran("draft-1", (6,)), failed("draft-2")]
    misshapen[1].problem = "one value where the question asks for one per group"

    for drafts in (nothing, misshapen):
        decision = after_drafts(drafts, quorum=2, more=1)
        assert decision.action == "escalate" and decision.final is False
    # With two more allowed, two new drafts could still agree with each other.
    assert after_drafts(nothing, quorum=2, more=2).action == "more"


def test_a_further_draft_settles_it_when_its_group_outnumbers_every_other():
    three = [ran("draft-0", (6,)), ran("draft-1", (5,)), ran("draft-2", (4,))]

    settled = after_drafts([*three, ran("draft-3", (5,))], quorum=2, outvote=True)
    tied = after_drafts(
        [ran("draft-0", (6,)), ran("draft-1", (5,)), ran("draft-2", (6,)), ran("draft-3", (5,))],
        quorum=2,
        outvote=True,
    )
    still_apart = after_drafts([*three, ran("draft-3", (3,))], quorum=2, outvote=True)

    assert settled.action == "agreed" and settled.chosen == 1 and settled.agreement == 2
    assert tied.action == "escalate" and "returned other rows" in tied.reason
    assert still_apart.action == "escalate" and "no 2 drafts agree" in still_apart.reason


def test_without_a_large_model_a_disputed_agreement_still_wins_the_vote():
    drafts = [ran("draft-0", (6,)), ran("draft-1", (6,)), ran("draft-2", (5,))]

    decision = after_drafts(drafts, quorum=2, escalate=False, more=1)

    assert decision.action == "agreed" and decision.chosen == 0


def test_row_order_and_int_or_float_do_not_break_agreement():
    drafts = [ran("draft-0", (1,), (2.0,)), ran("draft-1", (2,), (1,)), failed("draft-2")]

    assert after_drafts(drafts, quorum=2).action == "agreed"


def test_disagreeing_drafts_escalate_to_the_large_model():
    drafts = [ran("draft-0", (6,)), ran("draft-1", (5,)), failed("draft-2")]

    decision = after_drafts(drafts, quorum=2)

    assert decision.action == "escalate" and not decision.final
    assert decision.chosen is None
    assert "no 2 drafts agree" in decision.reason and "1 failed" in decision.reason


def test_drafts_that_agree_on_nothing_are_not_an_agreement():
    drafts = [ran("draft-0"), ran("draft-1"), ran("draft-2", (None,))]

    decision = after_drafts(drafts, quorum=2)

    assert decision.action == "escalate"
    assert "3 found no rows" in decision.reason


def test_a_quorum_of_three_needs_unanimous_drafts():
    drafts = [ran("draft-0", (6,)), ran("draft-1", (6,)), ran("draft-2", (5,))]

    assert after_drafts(drafts, quorum=3).action == "escalate"


def test_without_a_large_model_the_largest_group_is_kept_with_half_the_confidence():
    drafts = [ran("draft-0", (6,)), ran("draft-1", (5,)), ran("draft-2", (5,), (5,))]

    decision = after_drafts(drafts, quorum=3, escalate=False)

    assert decision.action == "fallback" and decision.chosen == 0
    assert decision.confidence == (1 / 3) / 2


def test_the_large_models_query_that_returns_rows_is_final():
    attempts = [ran("draft-0", (6,)), ran("draft-1", (5,)), ran("final", (5,), role="large")]

    decision = after_final(attempts, max_repairs=1)

    assert decision.action == "finalised" and decision.chosen == 2
    assert decision.extra == {"drafts_agreeing_with_final": 1}
    assert decision.confidence == 0.8  # backed by one draft


def test_a_failed_final_query_is_repaired_with_its_error():
    attempts = [failed("draft-0"), failed("draft-1"), failed("final", "no such table: x", "large")]

    decision = after_final(attempts, max_repairs=1)

    assert decision.action == "repair"
    assert decision.reason == "round 1: no such table: x"


def test_a_repaired_query_is_final():
    attempts = [
        failed("draft-0"),
        failed("final", role="large"),
        ran("repair-1", (3,), role="large"),
    ]

    decision = after_final(attempts, max_repairs=1)

    assert decision.action == "repaired" and decision.chosen == 2


def test_when_repairs_run_out_the_largest_group_of_drafts_is_kept():
    attempts = [
        ran("draft-0", (6,)),
        ran("draft-1", (5,)),
        failed("final", role="large"),
        failed("repair-1", role="large"),
    ]

    decision = after_final(attempts, max_repairs=1)

    assert decision.action == "fallback" and decision.chosen == 0
    assert "still failed" in decision.reason


def test_when_nothing_ran_the_decision_is_a_failure_with_the_last_error():
    attempts = [failed("draft-0"), failed("final", "syntax error", "large")]

    decision = after_final(attempts, max_repairs=0)

    assert decision.action == "failed" and decision.chosen is None
    assert "syntax error" in decision.reason


def test_the_large_model_reads_each_draft_with_its_rows_or_its_error():
    assert describe(ran("draft-0", (6,))).endswith("-> 6")
    assert describe(failed("draft-1")).endswith("-> error: no such column: Nme")
    assert describe(ran("draft-2")).endswith("-> no rows")


# -- the drafts' vote, fed real queries on a small database (no model) -------------------


@pytest.fixture
def singers(tmp_path: Path) -> Iterator[Database]:
    path = tmp_path / "singers.sqlite"
    with sqlite3.connect(path) as conn:
        conn.executescript(
            """
            CREATE TABLE singer (singer_id INTEGER PRIMARY KEY, name TEXT, country TEXT, age INT);
            INSERT INTO singer VALUES (1, 'Joe Sharp', 'Netherlands', 52),
                                      (2, 'Timbaland', 'United States', 32),
                                      (3, 'Justin Brown', 'France', 29),
                                      (4, 'Rose White', 'France', 41);
            """
        )
    db = Database(f"sqlite:///{path}")
    yield db
    db.close()


def drafts(db: Database, *sql: str) -> list[Attempt]:
    return [run_attempt(db, f"draft-{i}", "small", q) for i, q in enumerate(sql)]


def test_differently_written_drafts_with_the_same_rows_win_the_vote(singers):
    attempts = drafts(
        singers,
        "SELECT name FROM singer WHERE country = 'France'",
        "SELECT name FROM singer WHERE age > 200",
        "SELECT s.name FROM singer AS s WHERE s.country = 'France' ORDER BY s.age",
    )

    decision = after_drafts(attempts, quorum=2)

    assert decision.action == "agreed"
    assert decision.chosen == 0 and decision.agreement == 2
    assert attempts[decision.chosen].result.rows == [("Justin Brown",), ("Rose White",)]


def test_a_failed_draft_has_no_vote_and_the_rest_escalate_when_they_differ(singers):
    attempts = drafts(
        singers,
        "SELECT count(*) FROM singer",
        "SELECT count(*) FROM singers",
        "SELECT count(*) FROM singer WHERE country = 'France'",
    )

    decision = after_drafts(attempts, quorum=2)

    assert attempts[1].status == "error" and "no such table" in attempts[1].error
    assert decision.action == "escalate" and decision.chosen is None
    assert decision.reason == "no 2 drafts agree (1 at most; 1 failed, 0 found no rows)"


def test_without_a_large_model_a_tie_goes_to_the_greedy_first_draft(singers):
    attempts = drafts(
        singers,
        "SELECT max(age) FROM singer",
        "SELECT min(age) FROM singer",
        "SELECT avg(age) FROM singer WHERE age > 100",
    )

    decision = after_drafts(attempts, quorum=2, escalate=False)

    assert decision.action == "fallback" and decision.chosen == 0
    assert decision.reason.endswith("; the largest group is kept")


def test_draft_finalise_sends_even_agreeing_drafts_to_the_large_model(singers):
    attempts = drafts(singers, "SELECT count(*) FROM singer", "SELECT count(name) FROM singer")

    decision = after_drafts(attempts, quorum=2, finalise_always=True)

    assert decision.action == "escalate" and decision.agreement == 2
    assert decision.reason == "draft_finalise: the large model always finalises"


def test_drafts_that_would_write_are_refused_and_no_answer_is_made_of_them(singers):
    attempts = drafts(
        singers,
        "DELETE FROM singer",
        "UPDATE singer SET age = 0",
        "SELECT count(*) FROM singer",
    )

    assert [a.status for a in attempts] == ["refused", "refused", "ok"]
    assert refused_writes(attempts)
    assert not refused_writes(attempts[1:] + drafts(singers, "SELECT 1"))
    assert singers.execute("SELECT count(*) FROM singer").rows == [(4,)]
