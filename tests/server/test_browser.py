"""The chat page in headless Chromium (Debian's, installed by scripts/services.sh), driven by
Playwright: ask a compound question, watch the plan work, approve a step, read the answer."""

from __future__ import annotations

import shutil
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from ..services import unavailable

pytestmark = pytest.mark.browser

ARTIFACTS = Path(__file__).resolve().parents[2] / "test-artifacts"
CHROMIUM = shutil.which("chromium") or "/usr/bin/chromium"
# A closed network: no background traffic, no first-run or update checks.
FLAGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-dev-shm-usage",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]


@pytest.fixture(scope="module")
def browser() -> Iterator[Any]:
    if not Path(CHROMIUM).exists():
        unavailable(f"no Chromium at {CHROMIUM}: scripts/services.sh could not install it")
    from playwright.sync_api import sync_playwright

    with sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path=CHROMIUM, args=FLAGS, headless=True)
        yield browser
        browser.close()


@pytest.fixture
def page(browser: Any, live: str) -> Iterator[Any]:
    context = browser.new_context(base_url=live, viewport={"width": 1280, "height": 900})
    page = context.new_page()
    errors: list[str] = []
    page.on("pageerror", lambda exc: errors.append(str(exc)))
    page.goto("/")
    page.wait_for_selector("body[data-ready='1']")
    yield page
    context.close()
    assert not errors, f"the page raised: {errors}"


def test_a_compound_question_with_an_approval_round_trip(page: Any) -> None:
    from playwright.sync_api import expect

    page.fill("[data-testid=task]", "the tides and export orders")
    page.click("[data-testid=send]")

    turn = page.locator(".turn").last
    steps = turn.locator("[data-testid=step]")
    expect(steps).to_have_count(3)  # the plan appears: two clauses and the step joining them
    expect(turn.locator("[data-step=s1][data-testid=step]")).to_have_attribute("data-status", "ok")
    approval = turn.locator("[data-testid=approval]")
    expect(approval).to_contain_text("Step s2 (export) needs your approval of its result")
    expect(approval).to_contain_text("over the 1,000-row limit")
    expect(approval.locator("pre.sql")).to_have_text("SELECT * FROM orders")
    expect(turn.locator("[data-testid=run-status]")).to_have_text("waiting for approval")

    approval.locator("[data-testid=approve]").click()
    expect(turn.locator("[data-testid=run-status]")).to_have_text("done")
    for sid in ("s1", "s2", "s3"):
        step = turn.locator(f"[data-testid=step][data-step={sid}]")
        expect(step).to_have_attribute("data-status", "ok")
    answer = turn.locator("[data-testid=answer]")
    expect(answer).to_contain_text("fact about the tides")
    expect(answer).to_contain_text("5000 rows of export orders exported")
    expect(turn.locator(".decision")).to_have_text("Step s2 approved")
    # what an expert says while it works is shown on its step
    note = turn.locator("[data-step=s1] [data-testid=note]")
    expect(note).to_have_text("looked up (source almanac, score 0.50)")
    expect(turn.locator("[data-testid=meter]")).to_contain_text("s wall")

    # step outputs expand: the SQL with its result table
    turn.locator("[data-step=s2] summary").click()
    expect(turn.locator("[data-step=s2] table.rows td")).to_have_text("5000")
    expect(page.locator("[data-testid=conversations] li")).to_have_count(1)

    ARTIFACTS.mkdir(exist_ok=True)
    shot = ARTIFACTS / "chat-approval.png"
    page.screenshot(path=str(shot), full_page=True)
    assert shot.stat().st_size > 10_000


def test_a_conversation_reopens_from_the_list(page: Any) -> None:
    from playwright.sync_api import expect

    page.fill("[data-testid=task]", "owls")
    page.keyboard.press("Enter")
    expect(page.locator("[data-testid=run-status]")).to_have_text("done")
    page.click("[data-testid=new-chat]")
    expect(page.locator(".turn")).to_have_count(0)
    page.locator("[data-testid=conversations] li").first.click()
    expect(page.locator("[data-testid=answer]")).to_contain_text("fact about owls")


def test_bad_input_shows_the_servers_reason(page: Any) -> None:
    from playwright.sync_api import expect

    page.fill("[data-testid=task]", "x" * 25_000)
    page.click("[data-testid=send]")
    expect(page.locator("[data-testid=error]")).to_contain_text("the limit is 20,000")


def test_the_experts_and_workspace_pages(page: Any) -> None:
    from playwright.sync_api import expect

    page.click("nav button[data-view=experts]")
    expect(page.locator("[data-testid=experts-table] tbody tr")).to_have_count(3)
    page.click("nav button[data-view=workspace]")
    page.set_input_files(
        "#upload-file",
        files=[
            {"name": "tides.md", "mimeType": "text/markdown", "buffer": b"# Tides\nTwice a day."}
        ],
    )
    page.click("#upload button")
    expect(page.locator("#upload-result")).to_have_text("uploaded tides.md (20 bytes)")
    page.set_input_files(
        "#upload-file",
        files=[{"name": "x.md", "mimeType": "text/markdown", "buffer": b"\x00\x01\x02"}],
    )
    page.click("#upload button")
    expect(page.locator("#upload-result")).to_contain_text("is binary")


def test_a_whole_run_leaves_no_console_or_network_error(browser: Any, live: str) -> None:
    """Every request of a run that pauses, is approved and finishes (the page, its files, the
    API calls, both legs of the event stream) ends cleanly: nothing failed, no error status,
    no console error. The event stream used to end as net::ERR_ABORTED in Chromium."""
    from playwright.sync_api import expect

    context = browser.new_context(base_url=live, viewport={"width": 1280, "height": 900})
    page = context.new_page()
    seen: list[str] = []
    problems: list[str] = []
    page.on("requestfinished", lambda r: seen.append(r.url))
    page.on("requestfailed", lambda r: problems.append(f"{r.url}: {r.failure}"))
    page.on(
        "response", lambda r: problems.append(f"{r.url}: {r.status}") if r.status >= 400 else None
    )
    page.on(
        "console", lambda m: problems.append(f"console: {m.text}") if m.type == "error" else None
    )
    page.on("pageerror", lambda exc: problems.append(f"error: {exc}"))
    page.goto("/")
    page.wait_for_selector("body[data-ready='1']")

    page.fill("[data-testid=task]", "the tides and export orders")
    page.click("[data-testid=send]")
    turn = page.locator(".turn").last
    expect(turn.locator("[data-testid=run-status]")).to_have_text("waiting for approval")
    turn.locator("[data-testid=approve]").click()
    expect(turn.locator("[data-testid=run-status]")).to_have_text("done")
    page.wait_for_load_state("networkidle")
    context.close()

    streams = [u for u in seen if "/events?after=" in u]
    assert len(streams) == 2, seen  # the leg up to the pause and the leg after approving
    assert problems == []
