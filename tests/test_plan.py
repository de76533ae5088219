"""Plan validation: the problems a planner is shown before it is asked again."""

from __future__ import annotations

from podium.orchestrator.plan import Plan, Step, fill_references, validate_plan

EXPERTS = ["nl2sql", "retrieval"]


def plan(*steps: Step) -> Plan:
    return Plan(steps=list(steps))


def test_a_good_plan_has_no_problems_and_orders_by_dependencies():
    p = plan(
        Step(id="s1", expert="nl2sql", input="count orders"),
        Step(id="s2", expert="retrieval", input="policy for {s1}", depends_on=["s1"]),
        Step(id="s3", expert="retrieval", input="shipping"),
    )
    assert validate_plan(p, EXPERTS) == []
    assert [s.id for s in p.ready(done=[], started=[])] == ["s1", "s3"]
    assert [s.id for s in p.ready(done=["s1", "s3"], started=["s1", "s3"])] == ["s2"]


def test_each_kind_of_mistake_is_named():
    p = plan(
        Step(id="s1", expert="oracle", input="predict"),
        Step(id="s1", expert="nl2sql", input="count", depends_on=["s9"]),
        Step(id="s3", expert="nl2sql", input="use {s1}"),
    )
    problems = " | ".join(validate_plan(p, EXPERTS))
    assert "unknown expert 'oracle'" in problems
    assert "repeated: s1" in problems
    assert "depends on 's9'" in problems
    assert "uses {s1} but does not list it" in problems


def test_cycles_and_oversize_plans_are_refused():
    cyc = plan(
        Step(id="s1", expert="nl2sql", input="a", depends_on=["s2"]),
        Step(id="s2", expert="nl2sql", input="b", depends_on=["s1"]),
    )
    assert any("cycle" in p for p in validate_plan(cyc, EXPERTS))
    big = plan(*[Step(id=f"s{i}", expert="nl2sql", input="x") for i in range(20)])
    assert any("limit is 16" in p for p in validate_plan(big, EXPERTS, max_steps=16))


def test_references_are_filled_with_earlier_outputs():
    assert fill_references("check {s1} and {s2}", {"s1": "42"}) == "check 42 and {s2}"
