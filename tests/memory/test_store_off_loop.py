"""The run store is written from worker threads, so a slow store (a server database far
away, a SQLite file another process holds) delays only the run that writes, never the event
loop that serves every other run and request."""

from __future__ import annotations

import asyncio
import time

from podium import expert

from ..scripted import plan_json


@expert(description="Counts the orders of a year.")
def orders(text: str) -> str:
    return "543 orders"


def test_a_slow_run_store_leaves_the_event_loop_free(make_podium, monkeypatch):
    podium = make_podium(
        plan_json(("s1", "orders", "orders in 2024")), "543 orders.", experts=[orders]
    )
    assert podium.store is not None
    for name in ("start_run", "finish_run"):
        real = getattr(podium.store, name)

        def slow(*args, real=real, **kwargs):
            time.sleep(0.4)  # a blocking call, as a remote database's round trip is
            return real(*args, **kwargs)

        monkeypatch.setattr(podium.store, name, slow)

    async def run_beside_a_ticker():
        ticks, running = 0, True

        async def ticker():
            nonlocal ticks
            while running:
                await asyncio.sleep(0.01)
                ticks += 1

        beside = asyncio.create_task(ticker())
        result = await podium.arun("How many orders were placed in 2024?")
        running = False
        await beside
        return result, ticks

    result, ticks = asyncio.run(run_beside_a_ticker())
    assert result.status == "done" and "543" in (result.answer or "")
    # 0.8 s of store calls: the loop keeps ticking through them (a blocked loop ticks only
    # in the run's own few milliseconds of work)
    assert ticks >= 30, f"the event loop ticked {ticks} times in 0.8 s of store writes"
    assert podium.store.get_run(result.run_id)["status"] == "done"
