"""``[learning] refresh_every = N``: the gated refresh runs in the background after every N new
verified examples, never before, one at a time, and without holding up a run."""

from __future__ import annotations

from typing import Any

from typer.testing import CliRunner

from podium import ExpertResult, Podium, expert
from podium.cli import app
from podium.graphs import build_orchestrate_graph
from podium.learning import ExampleStore, auto
from podium.learning.heads import learned_dir
from podium.learning.refresh import history, one_at_a_time
from podium.orchestrator.plan import Plan, Step

from ..scripted import RuleChatModel


@expert
def order_status(text: str) -> ExpertResult:
    """Says whether an order has shipped, without much conviction."""
    return ExpertResult(output="shipped", summary="shipped", confidence=0.3)


async def _cascade_plan(state: dict[str, Any], runtime: Any) -> dict[str, Any]:
    policy = {"kind": "cascade", "options": {"threshold": 0.5}}
    step = Step(id="s1", expert="order_status", input=state["task"], policy=policy)
    return {"plan": Plan(steps=[step]).model_dump(mode="json")}


def _podium(workspace, every: int | None) -> Podium:
    """Each run is a verified example: the large model confirms the unsure small expert."""
    workspace.config.learning.refresh_every = every
    workspace.save()
    return Podium(
        planner=RuleChatModel(rule=lambda messages: "It has shipped."),
        large=RuleChatModel(rule=lambda messages: "shipped"),
        experts=[order_status],
        workspace=workspace,
        workflow=build_orchestrate_graph(planner=_cascade_plan),
        builtins=False,
        plugins=False,
        warmup=False,
        semantic_check=False,
    )


def test_a_refresh_runs_in_the_background_after_n_new_examples_and_not_before(
    workspace,
) -> None:
    podium = _podium(workspace, every=5)
    for i in range(4):
        assert podium.run(f"has order {i} shipped?").status == "done"
    assert auto.wait(podium, timeout=60)
    assert len(ExampleStore(podium.store).examples("order_status")) == 4
    assert history(podium.store.engine) == []  # 4 < 5: nothing refreshed

    assert podium.run("has order 4 shipped?").status == "done"
    assert auto.wait(podium, timeout=300)
    [row] = history(podium.store.engine)
    assert (row["expert"], row["component"]) == ("router", "examples")
    assert row["note"].startswith("automatic, after 5 new verified example(s)")
    assert row["status"] in ("kept", "rolled_back") and row["held_back"] == 1
    assert row["before"] is not None and row["after"] is not None

    assert podium.run("has order 5 shipped?").status == "done"
    assert auto.wait(podium, timeout=60)
    assert len(history(podium.store.engine)) == 1  # 1 new example since: not due again


def test_runs_finish_while_a_refresh_waits_its_turn_and_it_runs_once_after(workspace) -> None:
    podium = _podium(workspace, every=1)
    with one_at_a_time(learned_dir(podium)):  # e.g. `podium learn` running in another process
        first = podium.run("has order 1 shipped?")
        second = podium.run("has order 2 shipped?")
        assert (first.status, second.status) == ("done", "done")
        assert not auto.wait(podium, timeout=0.2)  # the refresh is still waiting for the lock
        assert history(podium.store.engine) == []
    assert auto.wait(podium, timeout=300)
    [row] = history(podium.store.engine)  # both examples, one refresh
    assert row["expert"] == "router"
    assert row["note"] == (
        "automatic, after 2 new verified example(s); 2 verified example(s); at least 5 are needed"
    )


def test_refresh_is_off_unless_the_workspace_asks_for_it(workspace) -> None:
    podium = _podium(workspace, every=None)  # the default
    podium.run("has order 1 shipped?")
    assert auto.wait(podium, timeout=60)
    assert ExampleStore(podium.store).examples() and history(podium.store.engine) == []
    res = CliRunner().invoke(app, ["learn", "--due", "--workspace", str(workspace.root)])
    assert res.exit_code == 2 and "refresh_every" in res.stderr
