"""Runs on the server: each runs as its own task, its events fan out to any number of readers.

A reader that goes away (a closed browser tab, a client that drops the SSE stream mid-run) only
ends its own subscription: the run goes on, its events are stored, and a new reader can pick up
where it left off (``after=seq``, or SSE's ``Last-Event-ID``). Runs from before a restart are
read back from the store.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from typing import Any

from podium.errors import InputRejected, RunNotFound
from podium.records import RunRecord
from podium.runner import Podium

log = logging.getLogger("podium.server")


@dataclass
class RunChannel:
    """The events of one run, kept in order, with a condition readers wait on."""

    run_id: str
    conversation_id: str | None = None
    events: list[dict[str, Any]] = field(default_factory=list)
    active: bool = True
    touched: float = field(default_factory=time.time)
    changed: asyncio.Condition = field(default_factory=asyncio.Condition)
    task: asyncio.Task[None] | None = None

    async def push(self, event: dict[str, Any]) -> None:
        async with self.changed:
            self.events.append(event)
            self.touched = time.time()
            self.changed.notify_all()

    async def close(self) -> None:
        async with self.changed:
            self.active = False
            self.changed.notify_all()

    async def follow(self, after: int = 0) -> AsyncIterator[dict[str, Any]]:
        """Every event with ``seq > after``, then the new ones as they come, until the leg
        that is running ends (the run finishes or pauses for approval)."""
        index = 0
        while True:
            async with self.changed:
                while index >= len(self.events) and self.active:
                    await self.changed.wait()
                batch = self.events[index:]
                index = len(self.events)
                done = not self.active
            for event in batch:
                if event.get("seq", 0) > after:
                    yield event
            if done and index >= len(self.events):
                return


class RunHub:
    """Starts runs, resumes them, and hands out their event streams."""

    def __init__(self, podium: Podium, *, keep: int = 500) -> None:
        self.podium = podium
        self.keep = keep
        self.channels: dict[str, RunChannel] = {}

    async def start(
        self,
        task: str,
        *,
        conversation_id: str | None = None,
        history: list[Any] | None = None,
    ) -> RunChannel:
        """Start a run; bad input raises here (before anything is stored or returned)."""
        if conversation_id:
            self.podium.conversations.messages(conversation_id, 1)  # 404 when unknown
        stream = self.podium.astream(task, conversation_id=conversation_id, history=history)
        return await self._launch(stream, conversation_id=conversation_id)

    async def resume(self, run_id: str, approvals: dict[str, Any] | None = None) -> RunChannel:
        """Answer approvals (or just continue an interrupted run) in the background."""
        stored = self.podium.store.get_run(run_id) if self.podium.store else None
        run_id = stored.run_id if stored else run_id
        channel = self.channels.get(run_id)
        if channel is not None and channel.active:
            raise InputRejected(
                f"run {run_id} is still running", hint="wait for it to finish or pause first"
            )
        status = stored.status if stored else None
        if status in ("done", "partial", "blocked") and not approvals:
            raise InputRejected(f"run {run_id} is already {status}; there is nothing to resume")
        if approvals is not None and not approvals:
            raise InputRejected("no approvals given", hint='send {"approvals": {"s1": true}}')
        conversation_id = stored.conversation_id if stored else None
        # Claim the run before the first await, so a second answer cannot start a second leg.
        if channel is None:
            channel = self.channel(run_id)
            self.channels[run_id] = channel
        channel.active = True
        stream = self.podium.astream_resume(run_id, approvals)
        if conversation_id:
            stream = self._record_turn(stream, conversation_id, stored.task if stored else "")
        return await self._launch(stream, channel=channel)

    async def _record_turn(
        self, stream: AsyncIterator[dict[str, Any]], conversation_id: str, task: str
    ) -> AsyncIterator[dict[str, Any]]:
        """A run that paused for approval joins its conversation when it finally finishes."""
        async for event in stream:
            if event["type"] == "run_finished":
                conversations = self.podium.conversations
                conversations.append(conversation_id, "user", task, run_id=event["run_id"])
                reply = event.get("answer") or f"(run {event['status']}: {event.get('error')})"
                conversations.append(conversation_id, "assistant", reply, run_id=event["run_id"])
            yield event

    async def _launch(
        self,
        stream: AsyncIterator[dict[str, Any]],
        *,
        channel: RunChannel | None = None,
        conversation_id: str | None = None,
    ) -> RunChannel:
        # The first event comes out of the checks (task text, approvals): errors surface here.
        try:
            first = await anext(stream)
        except BaseException:
            if channel is not None:
                channel.active = False
            raise
        if channel is None:
            channel = RunChannel(first["run_id"], conversation_id=conversation_id)
            self.channels[channel.run_id] = channel
        await channel.push(first)
        channel.task = asyncio.create_task(
            self._pump(channel, stream), name=f"run-{channel.run_id}"
        )
        self._forget_old()
        return channel

    async def _pump(self, channel: RunChannel, stream: AsyncIterator[dict[str, Any]]) -> None:
        try:
            async for event in stream:
                await channel.push(event)
        except Exception as exc:  # outside the graph (the runner reports failures inside it)
            log.exception("run %s stopped", channel.run_id)
            last = channel.events[-1] if channel.events else {}
            await channel.push(
                {
                    "type": "run_finished",
                    "run_id": channel.run_id,
                    "seq": last.get("seq", 0) + 1,
                    "ts": time.time(),
                    "status": "failed",
                    "answer": None,
                    "error": f"{type(exc).__name__}: {exc}",
                    "cost": {},
                }
            )
        finally:
            await channel.close()

    def channel(self, run_id: str) -> RunChannel:
        """The live channel of a run, or one rebuilt from the store (after a restart)."""
        if run_id in self.channels:
            return self.channels[run_id]
        if self.podium.store is None:
            raise RunNotFound(f"no run {run_id!r} on this server")
        stored = self.podium.store.get_run(run_id)
        return RunChannel(
            stored.run_id,
            conversation_id=stored.conversation_id,
            events=list(stored.events),
            active=False,
        )

    def get(self, run_id: str) -> RunRecord:
        """A run as stored (plan, steps, answer, events); ``live`` while it runs here."""
        if self.podium.store is None:
            run = _from_events(self.channel(run_id))
        else:
            run = self.podium.store.get_run(run_id)
        channel = self.channels.get(run.run_id)
        return run.model_copy(update={"live": bool(channel and channel.active)})

    def _forget_old(self) -> None:
        """Keep at most ``keep`` finished channels in memory; the store has them all."""
        finished = [c for c in self.channels.values() if not c.active]
        if len(finished) <= self.keep:
            return
        finished.sort(key=lambda c: c.touched)
        for channel in finished[: len(finished) - self.keep]:
            self.channels.pop(channel.run_id, None)

    async def shutdown(self) -> None:
        """Stop running runs (their checkpoints stay; ``resume`` continues them)."""
        tasks = [c.task for c in self.channels.values() if c.task and not c.task.done()]
        for task in tasks:
            task.cancel()
        for task in tasks:
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await task


def _from_events(channel: RunChannel) -> RunRecord:
    """A run this server holds only in memory (no store): what its events tell."""
    events = channel.events
    first = events[0] if events else {}
    last = events[-1] if events else {}
    paused = last.get("type") == "run_paused"
    status = "awaiting_approval" if paused else last.get("status", "running")
    return RunRecord.model_validate(
        {
            "run_id": channel.run_id,
            "task": first.get("task", ""),
            "status": status if last.get("type") in ("run_paused", "run_finished") else "running",
            "answer": last.get("answer"),
            "error": last.get("error"),
            "conversation_id": channel.conversation_id,
            "events": events,
        }
    )
