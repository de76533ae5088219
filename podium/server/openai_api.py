"""The OpenAI-compatible API: ``GET /v1/models`` and ``POST /v1/chat/completions``.

The official ``openai`` client and chat front ends that speak the OpenAI API work unchanged.
The last message is the task; earlier messages are the conversation so far. The orchestration
rides along in the extra field ``podium``:

- non-streaming: ``podium`` = the run, a :class:`~podium.records.RunRecord` (run_id, status,
  plan, steps, verdicts, pending_approvals, cost, events, ...), as ``GET /api/runs/{id}``;
- streaming: every chunk carries ``podium`` = one orchestration event (plan, step_started,
  step_finished, verdict, token, ...); the content deltas are the answer that stands (a draft
  the synthesizer's grounding check rewrites is never sent as content).

A run that pauses for approval answers with what it waits for; approve it with
``POST /api/runs/{run_id}/approve`` and read the rest on ``/api/runs/{run_id}/events``.
"""

from __future__ import annotations

import re
import time
from collections.abc import AsyncIterator
from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import JSONResponse, StreamingResponse
from langchain_core.messages import AIMessage, BaseMessage, HumanMessage, SystemMessage

from podium.errors import InputRejected, PodiumError

from .runs import RunChannel, RunHub
from .schemas import ChatCompletionRequest
from .sse import data_frame

MODEL_ID = "podium"
router = APIRouter(prefix="/v1", tags=["openai"])


class ModelNotFound(PodiumError):
    http_status = 404


def _hub(request: Request) -> RunHub:
    return request.app.state.hub


@router.get("/models")
async def list_models(request: Request) -> dict[str, Any]:
    podium = _hub(request).podium
    return {
        "object": "list",
        "data": [
            {
                "id": MODEL_ID,
                "object": "model",
                "created": int(request.app.state.started),
                "owned_by": "podium",
                "planner": podium.planner_label,
                "experts": [e.name for e in podium.registry],
            }
        ],
    }


@router.post("/chat/completions", response_model=None)
async def chat_completions(
    body: ChatCompletionRequest, request: Request
) -> JSONResponse | StreamingResponse:
    if body.model != MODEL_ID:
        raise ModelNotFound(
            f"the model {body.model!r} does not exist on this server",
            hint=f"use model={MODEL_ID!r} (see GET /v1/models)",
        )
    *earlier, last = body.messages
    if last.role != "user":
        raise InputRejected(
            f"the last message must come from the user, not {last.role!r}",
            hint="put the task in a final {'role': 'user', 'content': ...} message",
        )
    history = [_lc_message(m.role, m.text()) for m in earlier] or None
    hub = _hub(request)
    channel = await hub.start(last.text(), conversation_id=body.conversation_id, history=history)
    chat_id = f"chatcmpl-{channel.run_id}"
    if body.stream:
        options = (body.model_extra or {}).get("stream_options") or {}
        return StreamingResponse(
            _chunks(channel, chat_id, usage=bool(options.get("include_usage"))),
            media_type="text/event-stream",
            headers={"Cache-Control": "no-cache", "X-Podium-Run": channel.run_id},
        )
    events = [e async for e in channel.follow()]
    last_event = events[-1]
    if last_event["type"] == "run_finished" and last_event["status"] == "failed":
        return JSONResponse(
            status_code=502,
            content={
                "error": {
                    "message": f"run {channel.run_id} failed: {last_event.get('error')}",
                    "type": "run_failed",
                    "code": 502,
                    "run_id": channel.run_id,
                }
            },
        )
    run = hub.get(channel.run_id)
    cost = last_event.get("cost") or {}
    return JSONResponse(
        {
            "id": chat_id,
            "object": "chat.completion",
            "created": int(time.time()),
            "model": MODEL_ID,
            "choices": [
                {
                    "index": 0,
                    "message": {"role": "assistant", "content": _content(last_event)},
                    "finish_reason": _finish_reason(last_event),
                }
            ],
            "usage": _usage(cost),
            "podium": run.to_json_dict(),
        }
    )


async def _chunks(channel: RunChannel, chat_id: str, *, usage: bool) -> AsyncIterator[str]:
    created = int(time.time())

    def chunk(delta: dict[str, Any], event: dict[str, Any] | None, finish: str | None = None):
        body: dict[str, Any] = {
            "id": chat_id,
            "object": "chat.completion.chunk",
            "created": created,
            "model": MODEL_ID,
            "choices": [{"index": 0, "delta": delta, "finish_reason": finish}],
        }
        if event is not None:
            body["podium"] = event
        return data_frame(body)

    yield chunk({"role": "assistant", "content": ""}, None)
    async for event in channel.follow():
        kind = event["type"]
        if kind == "run_finished" and event["status"] == "failed":
            yield data_frame(
                {
                    "error": {
                        "message": f"run {channel.run_id} failed: {event.get('error')}",
                        "type": "run_failed",
                        "code": 502,
                    }
                }
            )
            return
        if kind in ("run_finished", "run_paused"):
            for piece in re.findall(r"\S+\s*|\s+", _content(event)):
                yield chunk({"content": piece}, None)
            yield chunk({}, event, _finish_reason(event))
            if usage:
                yield data_frame(
                    {
                        "id": chat_id,
                        "object": "chat.completion.chunk",
                        "created": created,
                        "model": MODEL_ID,
                        "choices": [],
                        "usage": _usage(event.get("cost") or {}),
                    }
                )
        else:
            yield chunk({}, event)
    yield data_frame("[DONE]")


def _content(event: dict[str, Any]) -> str:
    if event["type"] == "run_paused":
        waits = "; ".join(
            f"step {p['step_id']} ({p['expert']}): {p['input']}"
            + (f" — {p['reason']}" if p.get("reason") else "")
            for p in event.get("pending", [])
        )
        return (
            f"Run {event['run_id']} waits for approval of {waits}. Answer with "
            f"POST /api/runs/{event['run_id']}/approve."
        )
    return event.get("answer") or ""


def _finish_reason(event: dict[str, Any]) -> str:
    return "content_filter" if event.get("status") == "blocked" else "stop"


def _usage(cost: dict[str, Any]) -> dict[str, int]:
    prompt, completion = int(cost.get("input_tokens", 0)), int(cost.get("output_tokens", 0))
    return {
        "prompt_tokens": prompt,
        "completion_tokens": completion,
        "total_tokens": prompt + completion,
    }


def _lc_message(role: str, text: str) -> BaseMessage:
    if role == "assistant":
        return AIMessage(text)
    if role in ("system", "developer"):
        return SystemMessage(text)
    return HumanMessage(text)
