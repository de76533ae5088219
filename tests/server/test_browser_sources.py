"""The demo workspace's own settings on the chat page, in headless Chromium: its approval
policy pauses a bulk listing until someone approves, and an answer shows its sources — the
document as a link that opens it at the passage's heading, the database and its SQL one click
away. The experts are scripted (real SQL on the demo's database, real passages from its
documents); test_real_conversations.py runs the listing on the real models."""

from __future__ import annotations

import json
import shutil
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from podium import ExpertContext, ExpertResult, Podium, expert
from podium.experts.base import Evidence
from podium.guardians.policy import GuardPolicy
from podium.server import create_app
from podium.server.background import serve_in_thread
from podium.workspace import Workspace

from ..scripted import RuleChatModel
from .test_browser import ARTIFACTS, browser  # noqa: F401 (the module's browser)

pytestmark = pytest.mark.browser

LISTING = "List every order with its customer's name"
SQL = {
    "every order": "SELECT o.id, c.name FROM orders o JOIN customers c ON c.id = o.customer_id",
    "2024": "SELECT COUNT(*) FROM orders WHERE strftime('%Y', order_date) = '2024'",
}


@expert(name="nl2sql")
def nl2sql(question: str, ctx: ExpertContext) -> ExpertResult:
    """Answers questions from the shop's database (scripted SQL, run on the real database)."""
    from podium.tools.sql import open_database

    assert ctx.workspace is not None
    sql = next(q for key, q in SQL.items() if key in question)
    result = open_database(ctx.workspace.database_url()).execute(sql)
    return ExpertResult(
        output=result.as_dict(),
        summary=f"{result.row_count} rows" if result.row_count > 1 else f"{result.rows[0][0]}",
        confidence=0.9,
        evidence=[
            Evidence(kind="sql", text=sql),
            Evidence(kind="rows", text="", metadata={"row_count": result.row_count}),
        ],
    )


@expert(name="retrieval")
def retrieval(question: str, ctx: ExpertContext) -> ExpertResult:
    """Finds passages in the shop's policy documents (the demo's returns page, scripted)."""
    assert ctx.workspace is not None
    path = ctx.workspace.document_paths()[0] / "returns.md"
    section = path.read_text().split("## Damaged or faulty items", 1)[1].split("##")[0].strip()
    passages = [
        {
            "text": section,
            "source": str(path),
            "title": "Returns and refunds > Damaged or faulty items",
            "score": 0.27,
        },
        {"text": "Two-year warranty.", "source": str(path.with_name("warranty.md")), "title": ""},
    ]
    return ExpertResult(output=passages, summary=section, confidence=0.8)


def rule(messages: list[Any]) -> str:
    if str(messages[0].content).startswith("You are the planner"):
        task = str(next(m for m in reversed(messages) if m.type == "human").content)
        clauses = [c.strip(" ?.") for c in task.replace(", and", " and").split(" and ")]
        steps = [
            {
                "id": f"s{i}",
                "expert": "retrieval" if "policy" in c else "nl2sql",
                "input": c,
                "depends_on": [],
            }
            for i, c in enumerate(clauses, 1)
        ]
        return json.dumps({"steps": steps})
    return "Summary of results: " + str(messages[-1].content).split("Results:", 1)[-1].strip()


@pytest.fixture
def demo_copy(demo: Workspace, tmp_path: Path) -> Workspace:
    """The shipped demo's podium.toml, database and documents, in a folder of this test's
    own; guardians off in memory (they load models), every other setting as shipped."""
    root = tmp_path / "demo"
    shutil.copytree(demo.root, root, ignore=shutil.ignore_patterns(".podium"))
    ws = Workspace.load(root)
    assert ws.config.approvals.max_rows == 200  # the demo's policy, read from its file
    ws.config.guardians = GuardPolicy(enabled=False)
    return ws


def open_page(browser: Any, workspace: Workspace, token: str | None = None) -> Iterator[Any]:  # noqa: F811
    from playwright.sync_api import expect

    expect.set_options(timeout=20_000)  # a shared machine: give a run 20 s to show its result
    podium = Podium(
        planner=RuleChatModel(rule=rule),
        experts=[nl2sql, retrieval],
        workspace=workspace,
        builtins=False,
        plugins=False,
        warmup=False,
        semantic_check=False,
    )
    with serve_in_thread(create_app(podium, token=token)) as url:
        context = browser.new_context(base_url=url, viewport={"width": 1280, "height": 900})
        page = context.new_page()
        page.problems = []
        page.on("pageerror", lambda exc: page.problems.append(f"error: {exc}"))
        page.on("requestfailed", lambda r: page.problems.append(f"{r.url}: {r.failure}"))
        page.on(
            "response",
            lambda r: page.problems.append(f"{r.url}: {r.status}") if r.status >= 400 else None,
        )
        if token:  # the page asks for the token once, in a prompt
            page.on("dialog", lambda dialog: dialog.accept(token))
        page.goto("/")
        page.wait_for_selector("body[data-ready='1']")
        yield page
        context.close()


@pytest.fixture
def page(browser: Any, demo_copy: Workspace) -> Iterator[Any]:  # noqa: F811
    yield from open_page(browser, demo_copy)


def ask(page: Any, text: str) -> Any:
    before = page.locator(".turn").count()
    page.fill("[data-testid=task]", text)
    page.click("[data-testid=send]")
    return page.locator(".turn").nth(before)


def test_the_demo_policy_pauses_a_bulk_listing_until_it_is_approved(page: Any) -> None:
    from playwright.sync_api import expect

    turn = ask(page, LISTING)
    approval = turn.locator("[data-testid=approval]")
    expect(approval).to_contain_text("Step s1 (nl2sql) needs your approval of its result")
    expect(approval).to_contain_text(
        "1,500 rows, over this workspace's limit of 200 ([approvals] max_rows)"
    )
    expect(approval.locator("pre.sql")).to_have_text(SQL["every order"])
    expect(turn.locator("[data-testid=run-status]")).to_have_text("waiting for approval")
    ARTIFACTS.mkdir(exist_ok=True)
    page.screenshot(path=str(ARTIFACTS / "chat-demo-approval.png"), full_page=True)

    approval.locator("[data-testid=approve]").click()
    expect(turn.locator("[data-testid=run-status]")).to_have_text("done")
    expect(turn.locator(".decision")).to_have_text("Step s1 approved")
    answer = turn.locator("[data-testid=answer]")
    expect(answer).to_contain_text(f"1,500 rows answer “{LISTING}”; the first 20:")
    expect(answer).to_contain_text("The other 1,480 are not shown")
    expect(turn.locator("[data-testid=source-sql] summary")).to_have_text("shop database")

    # the README's question asks nothing: a count and a passage are answered straight away
    second = ask(page, "How many orders were placed in 2024, and what is the return policy?")
    expect(second.locator("[data-testid=run-status]")).to_have_text("done")
    expect(second.locator("[data-testid=answer]")).to_contain_text("543")
    assert second.locator("[data-testid=approval]").count() == 0
    assert page.problems == []


def test_an_answer_links_the_document_and_the_query_it_used(page: Any) -> None:
    from playwright.sync_api import expect

    turn = ask(page, "How many orders were placed in 2024, and what is the return policy?")
    expect(turn.locator("[data-testid=run-status]")).to_have_text("done")
    sources = turn.locator("[data-testid=sources]")
    link = sources.locator("[data-testid=source-doc]")
    expect(link).to_have_count(1)  # the passage the answer used, not every passage found
    expect(link).to_have_text("returns.md › Damaged or faulty items")

    # the database and its SQL, one click away
    query = sources.locator("[data-testid=source-sql]")
    expect(query.locator("summary")).to_have_text("shop database")
    expect(query.locator("pre.sql")).to_be_hidden()
    query.locator("summary").click()
    expect(query.locator("pre.sql")).to_have_text(SQL["2024"])
    ARTIFACTS.mkdir(exist_ok=True)
    turn.screenshot(path=str(ARTIFACTS / "chat-sources.png"))

    # the link opens the document, at the passage's heading
    link.click()
    viewer = page.locator("[data-testid=doc-viewer]")
    expect(viewer).to_be_visible()
    expect(viewer.locator("#doc-name")).to_have_text("returns.md")
    expect(viewer.locator("[data-testid=doc-heading]")).to_have_text("## Damaged or faulty items")
    expect(viewer.locator("[data-testid=doc-text]")).to_contain_text("within 14 days of delivery")
    page.screenshot(path=str(ARTIFACTS / "chat-document.png"))
    viewer.locator("[data-testid=doc-close]").click()
    expect(viewer).to_be_hidden()

    # and the link's own address serves the document (a new tab, when no token is needed)
    served = page.request.get(link.get_attribute("href"))
    assert served.ok and served.text().startswith("# Returns and refunds")

    # a conversation opened again shows the same sources (rebuilt from the stored events)
    page.click("[data-testid=new-chat]")
    page.locator("[data-testid=conversations] li .title").first.click()
    expect(page.locator("[data-testid=source-doc]")).to_have_text(
        "returns.md › Damaged or faulty items"
    )
    expect(page.locator("[data-testid=source-sql] summary")).to_have_text("shop database")
    assert page.problems == []


def test_behind_a_token_the_source_link_still_opens_the_document(
    browser: Any,  # noqa: F811
    demo_copy: Workspace,
) -> None:
    """The viewer fetches the document with the token; the bare address needs it."""
    from playwright.sync_api import expect

    for page in open_page(browser, demo_copy, token="s3cret-token"):
        turn = ask(page, "What is the return policy?")
        expect(turn.locator("[data-testid=run-status]")).to_have_text("done")
        link = turn.locator("[data-testid=source-doc]")
        link.click()
        viewer = page.locator("[data-testid=doc-viewer]")
        expect(viewer.locator("[data-testid=doc-heading]")).to_have_text(
            "## Damaged or faulty items"
        )
        assert page.request.get(link.get_attribute("href")).status == 401
        assert page.problems == []
