"""A follow-up's rewrite asks only what the follow-up asks."""

from __future__ import annotations

from podium.orchestrator.followup import Turn, rewrite_problems, without_earlier

EARLIER = "Within how many days of delivery can I return an unused item?"


def test_a_rewrite_that_asks_the_earlier_question_again_keeps_only_the_new_one():
    # what the 1.5B model wrote in the conversation set
    rewritten = (
        "Within how many days of delivery can I return an unused item, and if it arrives "
        "damaged, how many days do I have to contact support?"
    )
    assert without_earlier(rewritten, EARLIER) == (
        "If it arrives damaged, how many days do I have to contact support?"
    )


def test_a_rewrite_that_stands_on_its_own_is_unchanged():
    for rewritten in (
        "How many orders were placed in March 2024?",
        "Within how many days of delivery can I return a damaged item?",  # not the earlier one
    ):
        assert without_earlier(rewritten, EARLIER) == rewritten


def test_a_rewrite_that_is_only_the_earlier_question_is_still_refused():
    rewritten = without_earlier(EARLIER, EARLIER)
    assert rewrite_problems(rewritten, "And then?", Turn(EARLIER, "30 days.")) == [
        "repeats the earlier question"
    ]
