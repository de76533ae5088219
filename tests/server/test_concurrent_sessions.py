"""Many chat sessions through the server at once: each answer belongs to its own question."""

from __future__ import annotations

import asyncio

import openai


async def test_twenty_sessions_at_once_do_not_cross_talk(live: str) -> None:
    client = openai.AsyncOpenAI(base_url=f"{live}/v1", api_key="unused", max_retries=0)
    topics = [f"comet{i}" for i in range(20)]

    async def ask(topic: str) -> tuple[str, str, dict]:
        res = await client.chat.completions.create(
            model="podium", messages=[{"role": "user", "content": f"the {topic} and the sun"}]
        )
        return topic, res.choices[0].message.content or "", res.model_extra["podium"]

    answers = await asyncio.gather(*(ask(t) for t in topics))
    run_ids = set()
    for topic, answer, podium in answers:
        assert f"fact about the {topic}" in answer
        others = [t for t in topics if t != topic]
        assert not any(f"the {o} " in answer or answer.endswith(f"the {o}") for o in others)
        run_ids.add(podium["run_id"])
    assert len(run_ids) == len(topics)
    await client.close()
