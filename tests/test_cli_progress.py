"""``podium run``'s live progress follows the run's events step by step."""

from __future__ import annotations

import contextlib

from podium.cli.progress import RunProgress


def test_progress_follows_the_plan_its_steps_and_the_answer() -> None:
    progress = RunProgress(enabled=False)
    progress.update({"type": "run_started"})
    assert progress.status == "planning"

    steps = [
        {"id": "s1", "expert": "nl2sql", "input": "count the orders"},
        {"id": "s2", "expert": "retrieval", "input": "find the refund policy"},
    ]
    progress.update({"type": "plan", "plan": {"steps": steps}})
    assert progress.status == "running"
    assert [r["status"] for r in progress.rows.values()] == ["waiting", "waiting"]

    progress.update(
        {"type": "step_started", "step_id": "s1", "expert": "nl2sql", "input": "count orders"}
    )
    assert progress.rows["s1"]["status"] == "running"
    assert progress.rows["s1"]["input"] == "count orders"
    progress.update(
        {
            "type": "step_finished",
            "step_id": "s1",
            "expert": "nl2sql",
            "status": "ok",
            "confidence": 0.834,
            "cost": {"ms": 1234.4},
        }
    )
    assert progress.rows["s1"] == {
        "expert": "nl2sql",
        "input": "count orders",
        "status": "ok",
        "confidence": "0.83",
        "ms": "1234",
    }

    progress.update({"type": "token", "text": "There are "})
    progress.update({"type": "token", "text": "42 orders."})
    assert (progress.status, progress.answer) == ("answering", "There are 42 orders.")
    progress.update({"type": "run_finished", "status": "partial"})
    assert progress.status == "partial"


def test_a_step_the_plan_did_not_list_still_gets_a_row() -> None:
    progress = RunProgress(enabled=False)
    progress.update(
        {"type": "step_finished", "step_id": "s9", "expert": "fact_check", "status": "failed"}
    )
    assert progress.rows["s9"]["status"] == "failed"
    assert progress.rows["s9"]["confidence"] == "0.00"


def test_nothing_is_drawn_when_stderr_is_not_a_terminal() -> None:
    # Under pytest stderr is captured, as it is when a script pipes podium's output.
    progress = RunProgress(enabled=True)
    assert progress.enabled is False
    assert isinstance(progress.live(), contextlib.nullcontext)
