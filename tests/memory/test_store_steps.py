"""The run store's step rows, as ``runs show`` reads them back, however the writer happens to
batch a run's events."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from podium.memory.store import RunStore


def _started(seq: int, step: str, text: str) -> dict[str, Any]:
    return {
        "run_id": "r1",
        "seq": seq,
        "ts": float(seq),
        "type": "step_started",
        "step_id": step,
        "expert": "nl2sql",
        "input": text,
    }


def _finished(seq: int, step: str, status: str, output: Any, **more: Any) -> dict[str, Any]:
    return {
        "run_id": "r1",
        "seq": seq,
        "ts": float(seq),
        "type": "step_finished",
        "step_id": step,
        "expert": "nl2sql",
        "status": status,
        "output": output,
        **more,
    }


def test_step_rows_are_whole_whether_a_step_starts_and_ends_in_one_batch_or_two(
    tmp_path: Path,
) -> None:
    store = RunStore(f"sqlite:///{tmp_path / 'store.sqlite'}")
    store.start_run("r1", "count and list")
    store.record_event(_started(1, "s1", "How many orders?"))
    store.record_event(_started(2, "s2", "List the customers"))
    store.flush()  # s1 and s2 are on disk as running; their ends come in a later batch
    cost = {"model": "local:qwen", "input_tokens": 12, "output_tokens": 3, "ms": 41.5}
    store.record_event(_finished(3, "s1", "ok", [[42]], confidence=0.9, cost=cost))
    store.record_event(_started(4, "s3", "Sum the totals"))
    store.record_event(_finished(5, "s3", "failed", None, error="no such table"))
    store.record_event(_finished(6, "s4", "skipped", None, error="not run: s3 failed"))
    store.flush()

    steps = {s.step_id: s for s in store.get_run("r1").steps}
    assert steps["s1"].input == "How many orders?"
    assert (steps["s1"].status, steps["s1"].output, steps["s1"].confidence) == ("ok", [[42]], 0.9)
    assert (steps["s1"].cost.model, steps["s1"].cost.input_tokens, steps["s1"].cost.ms) == (
        "local:qwen",
        12,
        41.5,
    )
    assert (steps["s2"].status, steps["s2"].input, steps["s2"].output) == (
        "running",
        "List the customers",
        None,
    )
    assert (steps["s3"].status, steps["s3"].input, steps["s3"].error) == (
        "failed",
        "Sum the totals",
        "no such table",
    )
    assert (steps["s4"].status, steps["s4"].input, steps["s4"].error) == (
        "skipped",
        "",
        "not run: s3 failed",
    )
    assert [e["seq"] for e in store.get_run("r1").events] == [1, 2, 3, 4, 5, 6]


def test_a_plan_event_is_stored_on_its_run(tmp_path: Path) -> None:
    store = RunStore(f"sqlite:///{tmp_path / 'store.sqlite'}")
    store.start_run("r1", "count")
    plan = {"steps": [{"id": "s1", "expert": "nl2sql", "input": "How many?", "depends_on": []}]}
    store.record_event({"run_id": "r1", "seq": 1, "ts": 1.0, "type": "plan", "plan": plan})
    store.flush()
    assert store.get_run("r1").plan["steps"][0]["input"] == "How many?"
