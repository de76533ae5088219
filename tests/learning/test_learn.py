"""``podium learn``: a refresh is kept only when it is not worse on the held-back examples."""

from __future__ import annotations

import json

import pytest
from typer.testing import CliRunner

from podium import ExpertResult, Podium, expert
from podium.cli import app
from podium.learning import ExampleStore, learn
from podium.learning.refresh import history

from ..scripted import RuleChatModel, plan_json


@expert
def order_counts(text: str) -> str:
    """Counts orders, customers and sales in the shop's database."""
    return f"42 ({text})"


@expert
def policy_lookup(text: str) -> str:
    """Looks up the shop's return, refund and warranty policy documents."""
    return f"the policy says so ({text})"


def _podium(workspace, routes: dict[str, str]) -> Podium:
    def rule(messages: list) -> str:
        if str(messages[0].content).startswith("You are the planner"):
            task = next(str(m.content) for m in reversed(messages) if m.type == "human")
            return plan_json(("s1", routes[task], task))
        return "Done."

    return Podium(
        planner=RuleChatModel(rule=rule),
        experts=[order_counts, policy_lookup],
        workspace=workspace,
        builtins=False,
        plugins=False,
        warmup=False,
        semantic_check=False,  # the planner's routes stand, right or wrong
    )


# A person approved four answers the planner had sent to the wrong expert, then one right one
# (the fifth example is the held-back one: every fifth by id).
MISROUTED = {
    "what is the return policy for damaged items": "order_counts",
    "can I get a refund after thirty days": "order_counts",
    "how long is the warranty on a kettle": "order_counts",
    "what does the policy say about returns without a receipt": "order_counts",
    "what is the warranty policy for refunds": "policy_lookup",
}


def test_a_router_refresh_that_is_worse_on_held_back_examples_is_rolled_back(workspace) -> None:
    podium = _podium(workspace, MISROUTED)
    store = ExampleStore(podium.store)
    for task in MISROUTED:
        store.feedback(podium.run(task).run_id, "s1", "good")
    assert [e.expert for e in store.examples()] == list(MISROUTED.values())

    [refresh] = learn(podium, "router")
    assert (refresh.component, refresh.status) == ("examples", "rolled_back")
    assert (refresh.learned_from, refresh.held_back) == (4, 1)
    assert refresh.before == 1.0 and refresh.after == 0.0
    assert "previous version stays" in refresh.note
    # Nothing learned reaches the router: the misrouted clauses are not routing examples.
    assert all(not getattr(e, "learned_hints", []) for e in podium.registry)
    [row] = history(podium.store.engine)
    assert (row["status"], row["before"], row["after"]) == ("rolled_back", 1.0, 0.0)


def test_a_refresh_that_is_not_worse_is_kept_and_used_by_the_router(workspace) -> None:
    routes = {
        "how many orders did Anna place": "order_counts",
        "what were the total sales in May": "order_counts",
        "which customer bought the most": "order_counts",
        "how long do refunds take to arrive": "policy_lookup",
        "how many orders were shipped to Lyon": "order_counts",
    }
    podium = _podium(workspace, routes)
    store = ExampleStore(podium.store)
    for task in routes:
        store.feedback(podium.run(task).run_id, "s1", "good")

    [refresh] = learn(podium, "router")
    assert refresh.status == "kept" and refresh.after is not None
    assert refresh.before is not None and refresh.after >= refresh.before
    listed = CliRunner().invoke(
        app, ["learn", "--history", "--workspace", str(workspace.root), "--json"]
    )
    assert listed.exit_code == 0, listed.output
    assert [(r["component"], r["status"]) for r in json.loads(listed.stdout)] == [
        ("examples", "kept")
    ]

    fresh = _podium(workspace, routes)  # a new process reads what was kept
    hints = {e.name: getattr(e, "learned_hints", []) for e in fresh.registry}
    assert "how many orders did Anna place" in hints["order_counts"]
    assert "how long do refunds take to arrive" in hints["policy_lookup"]
    assert "how many orders were shipped to Lyon" not in hints["order_counts"]  # held back
    router = fresh.context.router
    assert router.route("how long do refunds take to arrive").expert == "policy_lookup"


@expert
def guess(text: str) -> ExpertResult:
    """Guesses an answer and is always very sure of it."""
    return ExpertResult(output=f"guess for {text}", summary="a guess", confidence=0.9)


def test_a_calibrator_is_refit_from_verdicts_and_set_on_the_expert(workspace) -> None:
    def build() -> Podium:
        def rule(messages: list) -> str:
            if str(messages[0].content).startswith("You are the planner"):
                task = next(str(m.content) for m in reversed(messages) if m.type == "human")
                return plan_json(("s1", "guess", task))
            return "Done."

        return Podium(
            planner=RuleChatModel(rule=rule),
            experts=[guess],
            workspace=workspace,
            builtins=False,
            plugins=False,
            warmup=False,
            semantic_check=False,
        )

    podium = build()
    store = ExampleStore(podium.store)
    for i in range(10):  # sure at 0.9, right half of the time
        store.feedback(podium.run(f"question {i}").run_id, "s1", "good" if i % 2 == 0 else "bad")
    assert len(store.outcomes("guess")) == 10

    [refresh] = learn(podium, "guess")
    assert (refresh.component, refresh.status) == ("calibrator", "kept")
    assert (refresh.learned_from, refresh.held_back) == (8, 2)
    assert refresh.before == -0.4 and refresh.after == 0.0  # ECE 0.4 -> 0 on held-back
    assert build().registry.get("guess").calibrator(0.9) == pytest.approx(0.5)


def test_a_head_with_too_few_confirmed_examples_says_so_and_changes_nothing(workspace) -> None:
    podium = _podium(workspace, {})
    res = CliRunner().invoke(
        app, ["learn", "--expert", "guard", "--workspace", str(workspace.root), "--json"]
    )
    assert res.exit_code == 0, res.output
    [row] = json.loads(res.stdout)
    assert (row["expert"], row["component"], row["status"]) == ("guard", "head", "skipped")
    assert row["note"] == "0 confirmed task(s); at least 5 are needed"
    assert list((workspace.data_dir / "learned").glob("*.npz")) == []
    assert [r["status"] for r in history(podium.store.engine)] == ["skipped"]
