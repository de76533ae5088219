"""The server on the real embedded models (SmolLM2 plans and writes, MiniLM retrieves, the demo
shop database answers): the OpenAI client and the chat page get the same run."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import httpx
import openai
import pytest

from podium import Podium
from podium.server import create_app
from podium.server.background import serve_in_thread

from ..services import unavailable
from .conftest import read_events

pytestmark = pytest.mark.slow

# The compound question (database + documents) runs end to end in tests/test_e2e.py; NL2SQL
# takes minutes on a busy CI machine, so the server's real-model tests ask about documents.
QUESTION = "What is the return policy for damaged items?"


@pytest.fixture(scope="module")
def real_server(demo) -> Iterator[str]:
    with serve_in_thread(create_app(Podium(workspace=demo))) as url:
        yield url


def test_a_question_over_the_openai_api(real_server: str) -> None:
    client = openai.OpenAI(base_url=f"{real_server}/v1", api_key="-", max_retries=0, timeout=300)
    res = client.chat.completions.create(
        model="podium", messages=[{"role": "user", "content": QUESTION}]
    )
    extra = res.model_extra["podium"]
    assert extra["status"] == "done"
    steps = {s["expert"]: s for s in extra["steps"]}
    assert set(steps) == {"retrieval"}
    assert steps["retrieval"]["output"][0]["source"].endswith("returns.md")
    assert "14 days" in res.choices[0].message.content
    # the passage is quoted, not written: usage counts only what models read and wrote
    usage = res.usage
    assert usage.total_tokens == usage.prompt_tokens + usage.completion_tokens
    assert usage.total_tokens == extra["cost"]["input_tokens"] + extra["cost"]["output_tokens"]

    with httpx.Client(base_url=real_server, timeout=60) as http:
        events = read_events(http, extra["run_id"])
        assert [e["type"] for e in events].count("step_finished") == 1
        experts = http.get("/api/experts").json()["experts"]
        assert all(e["recent_ms"] > 0 for e in experts if e["name"] in steps)


def test_a_streamed_answer_from_the_real_models(real_server: str) -> None:
    client = openai.OpenAI(base_url=f"{real_server}/v1", api_key="-", max_retries=0, timeout=300)
    chunks = list(
        client.chat.completions.create(
            model="podium",
            messages=[{"role": "user", "content": "What does the warranty cover?"}],
            stream=True,
        )
    )
    events = [c.model_extra["podium"] for c in chunks if c.model_extra.get("podium")]
    plan = next(e for e in events if e["type"] == "plan")["plan"]
    assert [s["expert"] for s in plan["steps"]] == ["retrieval"]
    text = "".join(c.choices[0].delta.content or "" for c in chunks)
    assert text and text == events[-1]["answer"]


@pytest.mark.browser
def test_the_chat_page_on_the_real_models(real_server: str) -> None:
    from .test_browser import ARTIFACTS, CHROMIUM, FLAGS

    if not Path(CHROMIUM).exists():
        unavailable(f"no Chromium at {CHROMIUM}: scripts/services.sh could not install it")
    from playwright.sync_api import expect, sync_playwright

    with sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path=CHROMIUM, args=FLAGS, headless=True)
        page = browser.new_page(base_url=real_server, viewport={"width": 1280, "height": 900})
        page.goto("/")
        page.wait_for_selector("body[data-ready='1']")
        page.fill("[data-testid=task]", "What does the warranty cover?")
        page.click("[data-testid=send]")
        turn = page.locator(".turn").last
        expect(turn.locator("[data-testid=run-status]")).to_have_text("done", timeout=240_000)
        step = turn.locator("[data-testid=step]")
        expect(step).to_have_count(1)
        expect(step.locator(".expert")).to_have_text("retrieval")
        step.locator("summary").click()
        expect(step.locator(".passages li").first).to_contain_text("warranty.md")
        expect(turn.locator("[data-testid=answer]")).not_to_be_empty()
        ARTIFACTS.mkdir(exist_ok=True)
        page.screenshot(path=str(ARTIFACTS / "chat-real-models.png"), full_page=True)
        browser.close()
