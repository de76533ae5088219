"""The official ``openai`` client works against a live server, streaming and not."""

from __future__ import annotations

import httpx
import openai
import pytest

from podium.records import RunRecord

from .conftest import read_events


@pytest.fixture
def client(live: str) -> openai.OpenAI:
    return openai.OpenAI(base_url=f"{live}/v1", api_key="unused", max_retries=0)


def test_models_lists_podium(client: openai.OpenAI) -> None:
    models = client.models.list()
    assert [m.id for m in models.data] == ["podium"]


def test_a_completion_answers_and_carries_the_orchestration(client: openai.OpenAI) -> None:
    res = client.chat.completions.create(
        model="podium",
        messages=[{"role": "user", "content": "the tides and the moons"}],
    )
    answer = res.choices[0].message.content
    assert "fact about the tides" in answer and "fact about the moons" in answer
    assert res.choices[0].finish_reason == "stop"
    extra = res.model_extra["podium"]
    assert extra["status"] == "done"
    assert [s["step_id"] for s in extra["steps"]] == ["s1", "s2", "s3"]
    assert [s["expert"] for s in extra["plan"]["steps"]] == ["lookup"] * 3
    assert res.id == f"chatcmpl-{extra['run_id']}"
    assert RunRecord.model_validate(extra).answer == answer  # the run record, as /api/runs


def test_a_streamed_completion_sends_the_answer_and_the_events(
    client: openai.OpenAI, http: httpx.Client
) -> None:
    stream = client.chat.completions.create(
        model="podium",
        messages=[{"role": "user", "content": "the tides and the moons"}],
        stream=True,
    )
    chunks = list(stream)
    text = "".join(c.choices[0].delta.content or "" for c in chunks)
    events = [c.model_extra["podium"] for c in chunks if c.model_extra.get("podium")]
    kinds = [e["type"] for e in events]
    assert "plan" in kinds and "step_finished" in kinds and kinds[-1] == "run_finished"
    assert text == events[-1]["answer"]
    assert "fact about the moons" in text
    assert chunks[-1].choices[0].finish_reason == "stop"
    # the same run is on the run API too
    assert read_events(http, events[0]["run_id"])[-1]["answer"] == text


def test_a_stream_can_end_with_usage(client: openai.OpenAI) -> None:
    chunks = list(
        client.chat.completions.create(
            model="podium",
            messages=[{"role": "user", "content": "owls"}],
            stream=True,
            stream_options={"include_usage": True},
        )
    )
    assert chunks[-1].choices == [] and chunks[-1].usage is not None
    assert chunks[-1].usage.total_tokens == (
        chunks[-1].usage.prompt_tokens + chunks[-1].usage.completion_tokens
    )


def test_earlier_messages_are_the_conversation(client: openai.OpenAI, http: httpx.Client) -> None:
    conv = http.post("/api/conversations", json={}).json()["id"]
    client.chat.completions.create(
        model="podium",
        messages=[{"role": "user", "content": "owls"}],
        extra_body={"conversation_id": conv},
    )
    turns = http.get(f"/api/conversations/{conv}").json()["messages"]
    assert [t["role"] for t in turns] == ["user", "assistant"]
    assert turns[0]["content"] == "owls"


def test_a_paused_run_says_what_it_waits_for(client: openai.OpenAI) -> None:
    res = client.chat.completions.create(
        model="podium", messages=[{"role": "user", "content": "export orders"}]
    )
    assert "waits for approval of step s1 (export)" in res.choices[0].message.content
    assert res.model_extra["podium"]["pending_approvals"][0]["step_id"] == "s1"


def test_bad_requests_raise_the_clients_own_errors(client: openai.OpenAI) -> None:
    with pytest.raises(openai.NotFoundError, match="model 'gpt-4o' does not exist"):
        client.chat.completions.create(
            model="gpt-4o", messages=[{"role": "user", "content": "owls"}]
        )
    with pytest.raises(openai.UnprocessableEntityError, match="must come from the user"):
        client.chat.completions.create(
            model="podium", messages=[{"role": "assistant", "content": "hi"}]
        )
    with pytest.raises(openai.UnprocessableEntityError, match="messages"):
        client.chat.completions.create(model="podium", messages=[])
