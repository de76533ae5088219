"""Many runs at once in one process: each keeps its own plan, results, events and answer."""

from __future__ import annotations

import asyncio

from podium import Podium
from tests.scripted import RuleChatModel, echo, echo_twice


def test_forty_concurrent_runs_do_not_cross_talk(workspace):
    podium = Podium(
        planner=RuleChatModel(rule=echo_twice),
        experts=[echo],
        workspace=workspace,
        builtins=False,
        plugins=False,
        warmup=False,
        semantic_check=False,
    )
    tasks = [f"question number {i}" for i in range(40)]

    async def main():
        return await asyncio.gather(*(podium.arun(t) for t in tasks))

    results = asyncio.run(main())
    for task, result in zip(tasks, results, strict=True):
        assert result.status == "done"
        assert [s["output"] for s in result.steps] == [f"echo {task}", f"echo {task} again"]
        assert f"echo {task}" in result.answer
        assert {e["run_id"] for e in result.events} == {result.run_id}
        stored = podium.store.get_run(result.run_id)
        assert stored["task"] == task and stored["answer"] == result.answer
    assert len(podium.store.list_runs(limit=100)) == 40
