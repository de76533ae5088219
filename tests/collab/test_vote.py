import asyncio
import time

import pytest

from podium.experts.base import ExpertContext, ExpertResult, TextRequest
from podium.orchestrator.collaboration import VoteRule, same_rows, vote

from .helpers import Scripted

REQ = TextRequest(text="How many singers are there?")


def run(coro):
    return asyncio.run(coro)


def test_quorum_returns_early_and_cancels_the_straggler() -> None:
    a, b = Scripted("a", "6"), Scripted("b", "6", delay=0.05)
    slow = Scripted("slow", "7", delay=5.0)
    start = time.perf_counter()
    result = run(vote([a, b, slow], REQ, ExpertContext(), VoteRule(mode="quorum", quorum=2)))
    assert time.perf_counter() - start < 1.0
    assert result.output == "6"
    info = result.details["collaboration"]
    assert info["cancelled"] == ["slow"]
    assert slow.cancelled == 1 and slow.finished == 0
    assert info["winners"] == ["a", "b"]


def test_majority_stops_once_no_one_can_overturn_it() -> None:
    voters = [Scripted("a", "x"), Scripted("b", "x"), Scripted("c", "x", delay=0.02)]
    voters += [Scripted("d", "y", delay=5.0), Scripted("e", "y", delay=5.0)]
    result = run(vote(voters, REQ, ExpertContext()))
    assert result.output == "x"
    assert sorted(result.details["collaboration"]["cancelled"]) == ["d", "e"]


def test_a_failed_voter_is_left_out_and_recorded() -> None:
    voters = [Scripted("a", "Paris"), Scripted("broken", None, fail=True), Scripted("c", "paris")]
    result = run(vote(voters, REQ, ExpertContext()))
    assert result.ok and result.output in ("Paris", "paris")
    info = result.details["collaboration"]
    assert "broken" in info["failed"] and "broke" in info["failed"]["broken"]
    assert info["groups"] == [2] and info["entropy"] == 0.0 and info["margin"] == 1.0


def test_when_every_voter_fails_the_vote_fails_with_their_reasons() -> None:
    voters = [Scripted("a", None, fail=True), Scripted("b", None, fail=True)]
    result = run(vote(voters, REQ, ExpertContext()))
    assert not result.ok and "every voter failed" in result.error and "b broke" in result.error


def test_confidence_weighted_vote_lets_one_sure_voter_beat_two_unsure_ones() -> None:
    voters = [
        Scripted("sure", "A", confidence=0.9),
        Scripted("u1", "B", confidence=0.3),
        Scripted("u2", "B", confidence=0.3),
    ]
    weighted = run(vote(voters, REQ, ExpertContext(), VoteRule(mode="weighted")))
    majority = run(vote(voters, REQ, ExpertContext(), VoteRule(mode="majority")))
    assert weighted.output == "A" and majority.output == "B"
    info = weighted.details["collaboration"]
    assert info["margin"] == pytest.approx(0.2, abs=1e-3)
    assert 0.9 < info["entropy"] < 1.0  # two groups, 0.6 vs 0.4


def test_sql_answers_agree_when_their_result_sets_are_equal() -> None:
    one = ExpertResult(output={"sql": "SELECT count(*) FROM singer", "rows": [[6]]})
    other = ExpertResult(output={"sql": "SELECT COUNT(singer_id) FROM singer", "rows": [[6]]})
    other_order = ExpertResult(output={"sql": "x", "rows": [[1], [2]]})
    assert same_rows(one, other)
    assert same_rows(ExpertResult(output={"rows": [[2], [1]]}), other_order)
    assert not same_rows(one, ExpertResult(output={"rows": [[7]]}))


def test_quorum_not_reached_is_a_clear_failure() -> None:
    voters = [Scripted("a", "1"), Scripted("b", "2"), Scripted("c", "3")]
    result = run(vote(voters, REQ, ExpertContext(), VoteRule(mode="quorum", quorum=2)))
    assert not result.ok and "no 2 of 3 voters agreed" in result.error


def test_bad_rules_are_refused() -> None:
    with pytest.raises(ValueError, match="quorum"):
        VoteRule(mode="quorum")
    with pytest.raises(ValueError, match="larger than"):
        run(vote([Scripted("a", "1")], REQ, ExpertContext(), VoteRule(mode="quorum", quorum=3)))
