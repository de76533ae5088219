"""The default graph with scripted planners: DAG order, parallel steps, failures, bad plans."""

from __future__ import annotations

import asyncio

import pytest

from podium import ExpertResult, expert
from podium.errors import PlanError
from podium.memory.store import RunStore

from .scripted import plan_json


@expert
def lookup(text: str) -> str:
    """Looks up a fact and returns it."""
    return f"fact about {text}"


@expert
def shout(text: str) -> str:
    """Repeats what it is given in capitals."""
    return text.upper()


@expert
def broken(text: str) -> str:
    """Always fails, to test failure handling."""
    raise RuntimeError("the backend is down")


def test_dependent_step_receives_earlier_output_and_runs_after_it(make_podium):
    podium = make_podium(
        plan_json(("s1", "lookup", "tides"), ("s2", "shout", "summary: {s1}", ["s1"])),
        "Summary: the fact about tides, loudly.",
        experts=[lookup, shout],
    )
    result = podium.run("Look up tides and shout it")

    steps = {s["step_id"]: s for s in result.steps}
    assert steps["s1"]["output"] == "fact about tides"
    assert steps["s2"]["input"] == "summary: fact about tides"
    assert steps["s2"]["output"] == "SUMMARY: FACT ABOUT TIDES"
    order = [e["step_id"] for e in result.events if e["type"] == "step_started"]
    assert order == ["s1", "s2"]
    assert result.answer == "Summary: the fact about tides, loudly."
    assert result.status == "done"


def test_independent_steps_run_at_the_same_time(make_podium):
    started: list[str] = []
    everyone_in = asyncio.Event()

    @expert
    async def waiter(text: str) -> str:
        """Waits until all four parallel steps have started."""
        started.append(text)
        if len(started) == 4:
            everyone_in.set()
        # Sequential execution would never get all four here: the wait would time out.
        await asyncio.wait_for(everyone_in.wait(), timeout=5)
        return f"done {text}"

    podium = make_podium(
        plan_json(*[(f"s{i}", "waiter", f"job {i}") for i in range(1, 5)]),
        "Done: job 1, job 2, job 3 and job 4.",
        experts=[waiter],
    )
    result = podium.run("Do four jobs")
    assert sorted(started) == ["job 1", "job 2", "job 3", "job 4"]
    assert [s["status"] for s in result.steps] == ["ok"] * 4


def test_sync_experts_also_run_in_parallel_beyond_the_default_pool_size(make_podium):
    import threading

    barrier = threading.Barrier(8, timeout=5)

    @expert
    def blocking(text: str) -> str:
        """A synchronous expert that blocks until all eight have started."""
        barrier.wait()
        return text

    podium = make_podium(
        plan_json(*[(f"s{i}", "blocking", f"job {i}") for i in range(1, 9)]),
        "Done: jobs 1, 2, 3, 4, 5, 6, 7 and 8.",
        experts=[blocking],
    )
    result = podium.run("Do eight blocking jobs")
    assert [s["status"] for s in result.steps] == ["ok"] * 8


def test_a_failing_expert_is_recorded_and_does_not_lose_the_others(make_podium):
    podium = make_podium(
        plan_json(
            ("s1", "broken", "anything"),
            ("s2", "lookup", "moons"),
            ("s3", "shout", "{s1}", ["s1"]),
        ),
        "Moons: fact about moons.",
        experts=[broken, lookup, shout],
    )
    result = podium.run("Break, look up moons, and shout the broken result")

    steps = {s["step_id"]: s for s in result.steps}
    assert steps["s1"]["status"] == "failed"
    assert "the backend is down" in steps["s1"]["error"]
    assert steps["s2"]["status"] == "ok"
    assert steps["s3"]["status"] == "skipped"
    assert "s1" in steps["s3"]["error"]
    assert result.status == "partial"
    assert "did not succeed" in result.answer


def test_an_expert_past_its_timeout_fails_its_step(make_podium):
    @expert
    async def slow(text: str) -> str:
        """Takes far too long."""
        await asyncio.sleep(30)
        return text

    slow.timeout_s = 0.2
    podium = make_podium(plan_json(("s1", "slow", "wait a while")), "Nothing.", experts=[slow])
    result = podium.run("Be slow")
    assert result.steps[0]["status"] == "failed"
    assert "timed out" in result.steps[0]["error"]


def test_an_expert_returning_the_wrong_type_fails_its_step(make_podium):
    from podium import Expert

    class Sloppy(Expert):
        name = "sloppy"
        description = "Returns a string instead of an ExpertResult."

        def run(self, request, ctx):
            return "not a result"

    podium = make_podium(plan_json(("s1", "sloppy", "do it badly")), "Nothing.", experts=[Sloppy()])
    result = podium.run("Be sloppy")
    assert result.steps[0]["status"] == "failed"
    assert "not an ExpertResult" in result.steps[0]["error"]


def test_an_invalid_plan_is_re_asked_with_its_problems(make_podium):
    podium = make_podium(
        plan_json(("s1", "oracle", "who wins")),  # no such expert
        plan_json(("s1", "lookup", "who wins")),
        "Fact about who wins.",
        experts=[lookup],
    )
    result = podium.run("Who wins?")
    retries = [e for e in result.events if e["type"] == "plan_retry"]
    assert len(retries) == 1
    assert "steps.0.expert" in retries[0]["problems"][0]
    assert "'lookup'" in retries[0]["problems"][0]
    assert result.plan["steps"][0]["expert"] == "lookup"
    assert result.status == "done"


def test_a_plan_that_stays_invalid_fails_clearly_and_is_stored_as_failed(make_podium, workspace):
    bad = plan_json(("s1", "lookup", "first", ["s2"]), ("s2", "lookup", "second", ["s1"]))
    podium = make_podium(bad, bad, bad, experts=[lookup])
    with pytest.raises(PlanError, match="cycle"):
        podium.run("Go in circles")
    runs = RunStore(workspace.store_url).list_runs()
    assert runs[0]["status"] == "failed"
    assert "cycle" in runs[0]["error"]


def test_a_planner_reply_that_is_not_json_is_retried(make_podium):
    podium = make_podium(
        "I think you should look it up.",
        plan_json(("s1", "lookup", "the thing")),
        "Fact about the thing.",
        experts=[lookup],
    )
    result = podium.run("Look it up")
    assert result.status == "done"
    assert any(e["type"] == "plan_retry" for e in result.events)


def test_events_tell_the_whole_story_and_are_stored(make_podium, workspace):
    podium = make_podium(plan_json(("s1", "lookup", "owls")), "Fact about owls.", experts=[lookup])
    result = podium.run("Tell me about owls")
    kinds = [e["type"] for e in result.events]
    assert kinds[0] == "run_started"
    assert kinds[-1] == "run_finished"
    for kind in ("verdict", "plan", "step_started", "step_finished", "answer"):
        assert kind in kinds
    assert [e["seq"] for e in result.events] == list(range(1, len(kinds) + 1))

    stored = RunStore(workspace.store_url).get_run(result.run_id)
    assert stored["status"] == "done"
    assert stored["answer"] == "Fact about owls."
    assert [s["step_id"] for s in stored["steps"]] == ["s1"]
    assert stored["steps"][0]["status"] == "ok"
    assert len(stored["events"]) == len(result.events)


def test_expert_results_keep_their_confidence_and_evidence(make_podium):
    from podium.experts.base import Evidence

    @expert
    def guess(text: str) -> ExpertResult:
        """Guesses with a stated confidence."""
        return ExpertResult(
            output="maybe",
            confidence=0.3,
            evidence=[Evidence(kind="passage", text="a hint", source="notes")],
        )

    podium = make_podium(plan_json(("s1", "guess", "a wild guess")), "Maybe.", experts=[guess])
    step = podium.run("Guess").steps[0]
    assert step["confidence"] == 0.3
    assert step["evidence"][0]["source"] == "notes"
    assert step["cost"]["ms"] >= 0


def test_concurrent_runs_on_one_podium_do_not_mix(workspace):
    from podium import Podium

    from .scripted import RuleChatModel

    def reply(messages):
        system = str(messages[0].content)
        last = next(str(m.content) for m in reversed(messages) if m.type == "human")
        if system.startswith("You are the planner"):
            return plan_json(("s1", "lookup", last.removeprefix("Tell me about ")))
        return "Answer: " + last.split("): ", 1)[1]

    podium = Podium(
        planner=RuleChatModel(rule=reply),
        experts=[lookup],
        workspace=workspace,
        builtins=False,
        plugins=False,
        warmup=False,
        semantic_check=False,
    )
    topics = ["cats", "dogs", "eels", "owls", "bats", "yaks"]

    async def main():
        return await asyncio.gather(*(podium.arun(f"Tell me about {t}") for t in topics))

    results = asyncio.run(main())
    assert len({r.run_id for r in results}) == len(topics)
    for topic, result in zip(topics, results, strict=True):
        assert result.task == f"Tell me about {topic}"
        assert result.steps[0]["output"] == f"fact about {topic}"
        assert result.answer == f"Answer: fact about {topic}"
        assert all(e["run_id"] == result.run_id for e in result.events)


def test_a_conversation_keeps_its_turns_and_feeds_them_to_the_planner(workspace):
    from podium import Podium

    from .scripted import RuleChatModel

    seen: list[str] = []
    tasks: list[str] = []

    def reply(messages):
        if str(messages[0].content).startswith("You are the planner"):
            task = next(str(m.content) for m in reversed(messages) if m.type == "human")
            seen.append(" | ".join(str(m.content) for m in messages if m.type == "system"))
            tasks.append(task)
            return plan_json(("s1", "lookup", task))
        return "Answer: " + str(messages[-1].content).split("): ", 1)[1]

    podium = Podium(
        planner=RuleChatModel(rule=reply),
        experts=[lookup],
        workspace=workspace,
        builtins=False,
        plugins=False,
        warmup=False,
        semantic_check=False,
    )
    conv = podium.conversations.create()
    asyncio.run(podium.arun("first question about owls", conversation_id=conv))
    asyncio.run(podium.arun("and a follow-up", conversation_id=conv))

    turns = podium.conversations.messages(conv)
    assert [t["role"] for t in turns] == ["user", "assistant", "user", "assistant"]
    assert turns[1]["content"] == "Answer: fact about first question about owls"
    assert "Earlier in this conversation" not in seen[0]
    # the follow-up reached the planner self-contained: it carries the earlier question
    assert "first question about owls" in tasks[1]
    assert podium.conversations.list()[0]["title"] == "first question about owls"


def test_a_step_that_can_name_a_database_is_sent_to_the_one_it_asks_about(tmp_path):
    import sqlite3

    from podium import Podium
    from podium.workspace import Workspace

    from .scripted import scripted

    for name, table, column in (("shop", "orders", "total"), ("library", "books", "title")):
        with sqlite3.connect(tmp_path / f"{name}.sqlite") as conn:
            conn.execute(f"CREATE TABLE {table} (id INTEGER, {column} TEXT)")
    ws = Workspace.init(
        tmp_path / "ws",
        databases=[f"sqlite:///{tmp_path / n}.sqlite" for n in ("shop", "library")],
        guardians=False,
    )

    @expert
    def ask_sql(text: str, database: str | None = None) -> str:
        """Answers a question from a database."""
        return f"asked {database}"

    podium = Podium(
        planner=scripted(
            plan_json(("s1", "ask_sql", "Which books have a title?"), ("s2", "lookup", "tides")),
            "It was asked of library.",
            "It was asked of library.",
        ),
        experts=[ask_sql, lookup],
        workspace=ws,
        builtins=False,
        plugins=False,
        warmup=False,
        semantic_check=False,
    )
    result = podium.run("Which books have a title, and the tides?")

    steps = {s["step_id"]: s for s in result.steps}
    assert steps["s1"]["output"] == "asked library"
    notes = [e for e in result.events if e["type"] == "expert_note" and e["kind"] == "database"]
    assert [(n["step_id"], n["data"]["database"]) for n in notes] == [("s1", "library")]


@pytest.mark.parametrize(
    ("second", "reads"),
    [
        # the planner wrote "it" for what the earlier step asked about
        ("How long does it take?", "Do you ship to Switzerland? How long does it take?"),
        # a request that names its reference, or whose "it" stands for nothing, is kept
        ("How long does shipping to {s1} take?", "How long does shipping to SHIPS: "),
        ("Is it true that shipping is free?", "Is it true that shipping is free?"),
    ],
)
def test_a_step_that_points_back_with_a_pronoun_reads_what_it_points_at(make_podium, second, reads):
    seen: dict[str, str] = {}

    @expert(description="Answers questions about shipping.")
    def shipping(text: str) -> str:
        seen[text] = text
        return f"SHIPS: {text}"

    plan = plan_json(
        ("s1", "shipping", "Do you ship to Switzerland?"),
        ("s2", "shipping", second, ["s1"]),
    )
    answers = ["Ships: Do you ship to Switzerland?"] * 3  # the writer, then step by step
    result = make_podium(plan, *answers, experts=[shipping]).run(
        "Do you ship to Switzerland, and how long does it take?"
    )
    step = next(s for s in result.steps if s["step_id"] == "s2")
    assert step["input"].startswith(reads)
