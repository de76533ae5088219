"""Experts on Ray actors: same results as in-process, requests spread over replicas, a killed
actor restarted and its request retried, failures reported as on the caller's side."""

from __future__ import annotations

import asyncio
import os
import signal
import time

import pytest

from podium.errors import SQLRefused
from podium.experts.base import ExpertContext, ExpertResult, TextRequest

from .experts import Refuser, SlowEcho

pytestmark = pytest.mark.slow  # starts Ray and its worker processes (~1 min in all)


def _ask(executor, expert, text: str, **ctx) -> ExpertResult:
    async def go() -> ExpertResult:
        return await executor.arun(expert, TextRequest(text=text), ExpertContext(**ctx))

    return asyncio.run(go())


def _ask_many(executor, expert, texts: list[str]) -> tuple[list[ExpertResult], float]:
    async def go() -> list[ExpertResult]:
        return await asyncio.gather(
            *(executor.arun(expert, TextRequest(text=t), ExpertContext()) for t in texts)
        )

    start = time.perf_counter()
    results = asyncio.run(go())
    return results, time.perf_counter() - start


def test_a_call_on_an_actor_returns_the_experts_result_and_replays_its_notes(ray_executor):
    executor = ray_executor(replicas=1)
    notes: list[dict] = []
    dep = ExpertResult(output=1, confidence=1.0)
    result = _ask(
        executor, SlowEcho(0.05), "hello", step_id="s2", dependencies={"s1": dep}, emit=notes.append
    )
    assert result.output["text"] == "HELLO"
    assert result.output["pid"] != os.getpid()  # it ran in another process
    assert result.details == {"step": "s2", "deps": ["s1"]}
    assert notes == [{"kind": "waiting", "seconds": 0.05}]
    assert result.cost.ms > 0


def test_an_experts_error_reaches_the_caller_with_its_class_and_hint(ray_executor):
    executor = ray_executor(replicas=1)
    with pytest.raises(SQLRefused) as info:
        _ask(executor, Refuser(), "DROP TABLE orders")
    assert info.value.hint == "ask for a SELECT"
    assert "DROP TABLE" in info.value.message


def test_requests_are_spread_over_replicas_and_throughput_grows_with_them(ray_executor):
    expert = SlowEcho(0.6)
    texts = [f"q{i}" for i in range(4)]

    one = ray_executor(replicas=1)
    _ask(one, expert, "warm")  # actors start on first use; time only the calls
    results_1, wall_1 = _ask_many(one, expert, texts)
    assert len({r.output["pid"] for r in results_1}) == 1
    one.close()

    two = ray_executor(replicas=2)
    _ask_many(two, expert, ["warm", "warm"])
    results_2, wall_2 = _ask_many(two, expert, texts)
    assert [r.output["text"] for r in results_2] == [t.upper() for t in texts]
    assert len({r.output["pid"] for r in results_2}) == 2  # both replicas served
    assert sorted(s["calls"] for s in two.stats(expert)) == [3, 3]
    # 4 calls of 0.6 s: ~2.4 s on one replica, ~1.2 s on two.
    assert wall_1 > 2.3
    assert wall_2 < wall_1 * 0.7, (wall_1, wall_2)


def test_a_killed_actor_is_restarted_and_its_request_retried(ray_executor):
    executor = ray_executor(replicas=1, max_restarts=2, max_task_retries=2)
    expert = SlowEcho(2.0)
    [before] = executor.stats(expert)  # starts the actor and says which process it is

    async def kill_mid_call() -> ExpertResult:
        call = asyncio.create_task(executor.arun(expert, TextRequest(text="x"), ExpertContext()))
        await asyncio.sleep(0.8)  # the actor is inside its 2 s call
        os.kill(before["pid"], signal.SIGKILL)
        return await call

    result = asyncio.run(kill_mid_call())
    assert result.ok and result.output["text"] == "X"
    assert result.output["pid"] != before["pid"]  # served by the restarted actor
    [after] = executor.stats(expert)
    assert after["pid"] == result.output["pid"]
    assert after["calls"] == 1  # a fresh process: only the retried call


def test_an_actor_that_keeps_dying_ends_in_a_clear_error(ray_executor):
    from podium.errors import ExpertError

    executor = ray_executor(replicas=1, max_restarts=0, max_task_retries=0)
    expert = SlowEcho(2.0)
    [info] = executor.stats(expert)

    async def kill_mid_call() -> ExpertResult:
        call = asyncio.create_task(executor.arun(expert, TextRequest(text="x"), ExpertContext()))
        await asyncio.sleep(0.8)
        os.kill(info["pid"], signal.SIGKILL)
        return await call

    with pytest.raises(ExpertError, match="Ray actor died"):
        asyncio.run(kill_mid_call())
