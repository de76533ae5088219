"""Feedback from the chat page: thumbs up or down on a step or on a whole answer.

POST /api/runs/{run_id}/steps/{step_id}/feedback   {"verdict": "good" | "bad"}
POST /api/runs/{run_id}/feedback                   {"verdict": "good" | "bad"}  (every step)

``good`` makes the step's result a verified example (voucher ``thumbs_up``), ``bad`` removes
it and takes it out of the few-shot pool at once. Step ``guard`` judges the entry guard's
verdict on the task (``good``: it was right; ``bad``: a false alarm or a missed attack).
Unknown runs and steps are 404. The server's host, origin and token checks apply as to every
``/api`` route.
"""

from __future__ import annotations

import asyncio
from typing import Literal

from fastapi import APIRouter, Request
from pydantic import BaseModel, ConfigDict

from podium.errors import ConfigError

router = APIRouter(prefix="/api", tags=["feedback"])


class FeedbackRequest(BaseModel):
    model_config = ConfigDict(extra="forbid")

    verdict: Literal["good", "bad"]


class FeedbackResult(BaseModel):
    run_id: str
    step_id: str | None
    verdict: Literal["good", "bad"]
    examples: list[int]  # ids of the verified examples added, confirmed or removed


async def _record(
    request: Request, run_id: str, step_id: str | None, verdict: Literal["good", "bad"]
) -> FeedbackResult:
    from podium.learning import ExampleStore, attach, auto

    podium = request.app.state.hub.podium
    if podium.store is None:
        raise ConfigError("this server keeps no run store: there is nothing to give feedback on")

    def work() -> list[int]:
        touched = ExampleStore(podium.store).feedback(run_id, step_id, verdict, via="api")
        if verdict == "bad":
            attach(podium)  # a removed example leaves the few-shot pool now, not at restart
        elif touched:
            auto.examples_added(podium)  # [learning] refresh_every: refresh in the background
        return [e.id for e in touched]

    ids = await asyncio.to_thread(work)
    return FeedbackResult(run_id=run_id, step_id=step_id, verdict=verdict, examples=ids)


@router.post("/runs/{run_id}/steps/{step_id}/feedback", response_model=FeedbackResult)
async def step_feedback(
    run_id: str, step_id: str, body: FeedbackRequest, request: Request
) -> FeedbackResult:
    return await _record(request, run_id, step_id, body.verdict)


@router.post("/runs/{run_id}/feedback", response_model=FeedbackResult)
async def run_feedback(run_id: str, body: FeedbackRequest, request: Request) -> FeedbackResult:
    return await _record(request, run_id, None, body.verdict)
