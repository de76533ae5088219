"""The run hub on its own: what readers see when a run breaks outside the graph."""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Any

from podium import Podium
from podium.server.runs import RunHub


async def test_a_run_that_breaks_outside_the_graph_still_ends_its_stream(
    podium: Podium, monkeypatch
) -> None:
    async def breaks_after_starting(*_args: Any, **_kwargs: Any) -> AsyncIterator[dict]:
        yield {"type": "run_started", "run_id": "r1", "seq": 1, "ts": 0.0}
        raise OSError("No space left on device")

    monkeypatch.setattr(podium, "astream", breaks_after_starting)
    hub = RunHub(podium)
    channel = await hub.start("owls")
    events = [e async for e in channel.follow()]
    assert [e["type"] for e in events] == ["run_started", "run_finished"]
    assert events[-1]["status"] == "failed" and events[-1]["seq"] == 2
    assert "OSError: No space left on device" in events[-1]["error"]
    assert not channel.active


async def test_readers_that_join_late_get_every_event_once(podium: Podium) -> None:
    hub = RunHub(podium)
    channel = await hub.start("the tides and the moons")
    early = [e async for e in channel.follow()]
    late = [e async for e in channel.follow()]
    assert early == late and early[-1]["type"] == "run_finished"
    assert len({e["seq"] for e in early}) == len(early)
    tail = [e async for e in channel.follow(after=early[-2]["seq"])]
    assert tail == early[-1:]
