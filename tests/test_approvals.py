"""Human approval: a run waits at a checkpoint, the rest of the plan goes on, and the answer
decides what happens to the waiting step."""

from __future__ import annotations

import pytest

from podium import ExpertResult, Podium, expert
from podium.errors import InputRejected
from podium.graphs import pipeline

from .scripted import RuleChatModel, plan_json

calls: list[str] = []


@expert
def lookup(text: str) -> str:
    """Looks up a fact and returns it."""
    calls.append(text)
    return f"fact about {text}"


@expert
def export(text: str) -> ExpertResult:
    """Exports many rows; a person should look before the result is used."""
    calls.append(f"export {text}")
    return ExpertResult(
        output={"rows": 5000},
        summary="5000 rows exported",
        confidence=0.9,
        needs_approval="5,000 rows is over the 1,000-row limit",
    )


def _answer(messages):
    if str(messages[0].content).startswith("You are the planner"):
        return plan_json(("s1", "export", "all orders"), ("s2", "lookup", "owls"))
    facts = str(messages[-1].content)
    return "Summary of results: " + facts.split("Results:", 1)[-1]


@pytest.fixture
def podium(workspace):
    calls.clear()
    return Podium(
        planner=RuleChatModel(rule=_answer),
        experts=[lookup, export],
        workspace=workspace,
        builtins=False,
        plugins=False,
        warmup=False,
        semantic_check=False,
    )


def test_a_step_marked_for_approval_waits_while_independent_steps_finish(workspace):
    calls.clear()
    wf = pipeline(("lookup", "tides"), ("lookup", "moons"), parallel=True, approve={"s2"})
    podium = Podium(
        planner=RuleChatModel(rule=_answer),
        workflow=wf,
        experts=[lookup],
        workspace=workspace,
        builtins=False,
        plugins=False,
        warmup=False,
    )
    paused = podium.run("tides and moons")

    assert paused.status == "awaiting_approval"
    assert [p["step_id"] for p in paused.pending_approvals] == ["s2"]
    assert paused.pending_approvals[0]["when"] == "before"
    assert calls == ["tides"]  # s1 ran; s2 waits and has not run
    assert paused.events[-1]["type"] == "run_paused"

    done = podium.resume(paused.run_id, approvals={"s2": True})
    assert done.status == "done"
    assert calls == ["tides", "moons"]  # s1 is not run again
    assert {s["step_id"]: s["status"] for s in done.steps} == {"s1": "ok", "s2": "ok"}
    assert podium.store.get_run(paused.run_id)["status"] == "done"


def test_rejecting_before_running_fails_the_step_and_skips_its_dependents(workspace):
    calls.clear()
    wf = pipeline(
        ("lookup", "tides"), ("lookup", "moons"), ("lookup", "more on {s2}"), approve={"s2"}
    )
    podium = Podium(
        planner=RuleChatModel(rule=_answer),
        workflow=wf,
        experts=[lookup],
        workspace=workspace,
        builtins=False,
        plugins=False,
        warmup=False,
    )
    paused = podium.run("tides then moons")
    done = podium.resume(paused.run_id, approvals={"s2": {"approved": False, "note": "no"}})

    steps = {s["step_id"]: s for s in done.steps}
    assert steps["s2"]["status"] == "failed" and "rejected" in steps["s2"]["error"]
    assert steps["s3"]["status"] == "skipped"
    assert done.status == "partial"
    assert calls == ["tides"]


def test_an_expert_can_ask_for_approval_of_its_result(podium):
    paused = podium.run("export everything and tell me about owls")
    assert paused.status == "awaiting_approval"
    pending = paused.pending_approvals[0]
    assert (pending["step_id"], pending["when"]) == ("s1", "after")
    assert "1,000-row limit" in pending["reason"]
    assert calls == ["export all orders", "owls"]

    done = podium.resume(paused.run_id, approvals={"s1": True})
    assert done.status == "done"
    assert "5000 rows exported" in done.answer
    assert calls == ["export all orders", "owls"]  # nothing ran twice
    kinds = [e["type"] for e in podium.store.get_run(paused.run_id)["events"]]
    assert kinds.count("approval_required") == 1
    assert "approval" in kinds and kinds[-1] == "run_finished"


def test_answering_an_unknown_step_is_refused(podium):
    paused = podium.run("export everything and tell me about owls")
    with pytest.raises(InputRejected, match="no approval is pending for step s9"):
        podium.resume(paused.run_id, approvals={"s9": True})
    assert podium.resume(paused.run_id, approvals={"s1": False}).status == "partial"


# -- the workspace's own policy: [approvals] in podium.toml --------------------------------


@expert
def orders(text: str) -> ExpertResult:
    """Lists orders: 'list 300 orders' returns 300 rows, as nl2sql reports them."""
    import re

    n = int(re.search(r"\d+", text).group())
    calls.append(f"orders {n}")
    return ExpertResult(
        output={
            "sql": "SELECT id FROM orders",
            "columns": ["id"],
            "rows": [[i] for i in range(min(n, 20))],
            "row_count": n,
            "truncated": n > 20,
        },
        summary=f"{n} orders listed",
        confidence=0.9,
    )


def _plan_clauses(messages):
    """One step per clause: 'list N orders' to orders, anything else to lookup."""
    if str(messages[0].content).startswith("You are the planner"):
        task = str(next(m for m in reversed(messages) if m.type == "human").content)
        clauses = [c.strip(" ?.") for c in task.split(" and ")]
        return plan_json(
            *(
                (f"s{i}", "orders" if "orders" in c else "lookup", c)
                for i, c in enumerate(clauses, 1)
            )
        )
    facts = str(messages[-1].content)
    return "Summary of results: " + facts.split("Results:", 1)[-1]


def with_policy(workspace, policy: str) -> Podium:
    """A Podium over the workspace, its podium.toml given an [approvals] section."""
    from podium.workspace import CONFIG_NAME, Workspace

    path = workspace.root / CONFIG_NAME
    path.write_text(path.read_text() + "\n[approvals]\n" + policy + "\n")
    calls.clear()
    return Podium(
        planner=RuleChatModel(rule=_plan_clauses),
        experts=[lookup, orders],
        workspace=Workspace.load(workspace.root),
        builtins=False,
        plugins=False,
        warmup=False,
        semantic_check=False,
    )


def test_a_result_over_the_workspaces_row_limit_waits_and_approving_uses_it(workspace):
    podium = with_policy(workspace, "max_rows = 200")
    paused = podium.run("list 300 orders and tell me about owls")

    assert paused.status == "awaiting_approval"
    [pending] = paused.pending_approvals
    assert (pending["step_id"], pending["expert"], pending["when"]) == ("s1", "orders", "after")
    assert (
        pending["reason"] == "300 rows, over this workspace's limit of 200 ([approvals] max_rows)"
    )
    [asked] = [e for e in paused.events if e["type"] == "approval_required"]
    assert asked["output"]["row_count"] == 300  # the person sees what they approve
    assert calls == ["orders 300", "tell me about owls"]  # the independent step went on

    done = podium.resume(paused.run_id, approvals={"s1": True})
    assert done.status == "done"
    assert "300 orders listed" in done.answer and "fact about tell me about owls" in done.answer
    assert calls == ["orders 300", "tell me about owls"]  # the query is not run again


def test_rejecting_a_large_result_fails_its_step_and_the_answer_goes_on_without_it(workspace):
    podium = with_policy(workspace, "max_rows = 200")
    paused = podium.run("list 1000 orders and tell me about owls")
    done = podium.resume(paused.run_id, approvals={"s1": {"approved": False, "note": "too many"}})

    steps = {s["step_id"]: s for s in done.steps}
    assert steps["s1"]["status"] == "failed"
    assert steps["s1"]["error"] == "result rejected: too many"
    assert steps["s2"]["status"] == "ok"
    assert done.status == "partial"
    assert "1000 orders listed" not in done.answer


def test_results_within_the_row_limit_and_results_without_rows_do_not_ask(workspace):
    podium = with_policy(workspace, "max_rows = 200")
    run = podium.run("list 200 orders and tell me about owls")

    assert run.status == "done"
    assert run.pending_approvals == []
    assert "approval_required" not in [e["type"] for e in run.events]
    assert calls == ["orders 200", "tell me about owls"]


def test_the_workspace_can_ask_before_every_step_of_an_expert(workspace):
    podium = with_policy(workspace, 'before = ["lookup"]')
    paused = podium.run("list 5 orders and tell me about owls")

    assert paused.status == "awaiting_approval"
    [pending] = paused.pending_approvals
    assert (pending["step_id"], pending["when"]) == ("s2", "before")
    assert pending["reason"] == "this workspace asks before every lookup step ([approvals] before)"
    assert calls == ["orders 5"]  # lookup has not run

    done = podium.resume(paused.run_id, approvals={"s2": True})
    assert done.status == "done"
    assert calls == ["orders 5", "tell me about owls"]

    rejected = podium.run("tell me about tides")
    finished = podium.resume(rejected.run_id, approvals={"s1": False})
    assert finished.steps[0]["status"] == "failed"
    assert calls == ["orders 5", "tell me about owls"]  # a rejected step never runs


def test_the_demo_asks_before_using_a_bulk_listing_of_its_shop(demo):
    """The shipped demo's policy, on its own database: every order with its customer's name
    (1,000 rows at the row cap) asks; the counts and prices its questions need do not."""
    from podium.orchestrator.approval import asks_after
    from podium.tools.sql import open_database

    db = open_database(demo.database_url())

    def result(sql: str) -> ExpertResult:
        return ExpertResult(output=db.execute(sql).as_dict(), confidence=0.9)

    listing = result("SELECT o.id, c.name FROM orders o JOIN customers c ON c.id = o.customer_id")
    assert asks_after(listing, demo).needs_approval.startswith("1,500 rows, over")
    for sql in (
        "SELECT COUNT(*) FROM orders WHERE strftime('%Y', order_date) = '2024'",
        "SELECT AVG(price) FROM products WHERE category = 'tents'",
        "SELECT name, country FROM customers WHERE country = 'Germany'",  # 43 rows
    ):
        assert asks_after(result(sql), demo).needs_approval is None, sql
