"""The learning loop on the real ladder: answers Podium verified (and a person confirmed)
become few-shot examples the next run's prompt shows; a thumbs-down takes one out again."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from langchain_core.tracers.context import collect_runs

from podium import Podium
from podium.experts.nl2sql import NL2SQLExpert
from podium.learning import ExampleStore, attach, learn
from podium.workspace import LimitsSpec, Workspace

from ..scripted import RuleChatModel, plan_json

pytestmark = pytest.mark.slow


def _podium(root: Path, db: Path) -> Podium:
    ws = (
        Workspace.load(root)
        if (root / "podium.toml").exists()
        else Workspace.init(root, databases=[f"sqlite:///{db}"], guardians=False)
    )

    def rule(messages: list[Any]) -> str:
        if str(messages[0].content).startswith("You are the planner"):
            task = next(str(m.content) for m in reversed(messages) if m.type == "human")
            return plan_json(("s1", "nl2sql", task))
        return "Answered."

    return Podium(
        planner=RuleChatModel(rule=rule),
        experts=[NL2SQLExpert()],
        workspace=ws,
        builtins=False,
        plugins=False,
        warmup=False,
        semantic_check=False,
        limits=LimitsSpec(step_timeout_s=1800, max_seconds=3600),  # a shared, busy CPU
    )


def _prompts(runs: list[Any]) -> list[str]:
    found: list[str] = []
    stack = list(runs)
    while stack:
        run = stack.pop()
        if run.run_type in ("llm", "chat_model"):
            found.append(str(run.inputs))
        stack.extend(run.child_runs)
    return found


def test_verified_answers_reach_the_next_runs_prompt_and_a_thumbs_down_removes_them(
    tmp_path: Path, shared_data: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("PODIUM_LLAMA_THREADS", "1")
    db = shared_data / "spider" / "database" / "concert_singer" / "concert_singer.sqlite"
    podium = _podium(tmp_path / "ws", db)
    store = ExampleStore(podium.store)
    first = podium.run("How many singers do we have?")
    second = podium.run("What is the total number of singers?")
    for run in (first, second):
        assert run.status == "done" and run.steps[0]["output"]["rows"] == [[6]]
        store.feedback(run.run_id, "s1", "good")
    examples = store.examples("nl2sql")
    assert [e.input for e in examples] == [first.task, second.task]
    assert all(e.provenance[-1]["kind"] == "feedback" for e in examples)
    assert all(e.sql and "singer" in e.sql.lower() for e in examples)

    refreshes = {r.component: r for r in learn(podium, "nl2sql", minimum=2)}
    assert refreshes["calibrator"].status == "skipped"  # 2 verdicts do not make a calibrator
    refresh = refreshes["fewshot"]
    assert (refresh.learned_from, refresh.held_back) == (1, 1)
    assert refresh.before == refresh.after == 1.0 and refresh.status == "kept"

    again = _podium(tmp_path / "ws", db)  # what a new process (or `podium learn`) published
    pool = again.registry.get("nl2sql").pool
    assert [e.question for e in pool.examples if e.source.startswith("verified:")] == [first.task]
    with collect_runs() as traced:
        third = again.run("How many concerts are there?")
    assert third.status == "done" and third.steps[0]["output"]["rows"] == [[6]]
    assert any(f"Question: {first.task}" in p for p in _prompts(traced.traced_runs))

    ExampleStore(again.store).feedback(first.run_id, "s1", "bad")
    attach(again)
    pool = again.registry.get("nl2sql").pool
    assert not [e for e in pool.examples if e.source.startswith("verified:")]
