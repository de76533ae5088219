"""One step whose result already is the answer is answered without a synthesis call."""

from __future__ import annotations

from typing import Any

from podium import ExpertResult, expert
from podium.orchestrator.direct_answer import direct_answer
from podium.orchestrator.plan import Plan, Step

from .scripted import plan_json


def _outcome(question: str, rows: list[list[Any]], confidence: float = 0.9) -> dict[str, Any]:
    return {
        "step_id": "s1",
        "expert": "nl2sql",
        "input": question,
        "status": "ok",
        "output": {"sql": "SELECT COUNT(*) FROM t", "columns": ["COUNT(*)"], "rows": rows},
        "summary": None,
        "confidence": confidence,
        "evidence": [],
        "cost": {},
        "error": None,
        "details": {},
    }


def _answer(question: str, rows: list[list[Any]], confidence: float = 0.9) -> str | None:
    plan = Plan(steps=[Step(id="s1", expert="nl2sql", input=question)])
    return direct_answer(plan, {"s1": _outcome(question, rows, confidence)}, 0.5)  # type: ignore[dict-item]


def test_a_count_question_is_turned_into_its_answer():
    assert _answer("How many orders were placed in 2024?", [[543]]) == (
        "543 orders were placed in 2024."
    )
    assert _answer("How many customers are in the gold segment?", [[1250]]) == (
        "1,250 customers are in the gold segment."
    )
    assert _answer("How many singers are there?", [[6]]) == "There are 6 singers."
    assert _answer("How many orders were returned in 2023?", [[0]]) == (
        "No orders were returned in 2023."
    )


def test_anything_less_clear_cut_is_left_to_the_model():
    assert _answer("How many singers do we have?", [[6]]) is None  # "do"-support
    assert _answer("How many orders were placed in 2024?", [[1]]) is None  # singular/plural
    assert _answer("How many orders were placed in 2024?", [[543]], confidence=0.3) is None
    assert _answer("How many orders were placed in 2024?", [[543], [12]]) is None
    assert _answer("How many orders were placed in 2024?", [["543"]]) is None
    assert _answer("What is the average order total?", [[81]]) is None
    two = Plan(steps=[Step(id="s1", expert="a", input="x"), Step(id="s2", expert="b", input="y")])
    assert direct_answer(two, {}, 0.5) is None


@expert(description="Counts rows in the shop database.")
def counter(text: str) -> ExpertResult:
    return ExpertResult(
        output={"sql": "SELECT COUNT(*) FROM orders", "columns": ["COUNT(*)"], "rows": [[543]]},
        confidence=0.9,
    )


def test_a_run_answers_a_count_without_calling_the_synthesizer(make_podium):
    # Only the planner's reply is scripted: a synthesis call would find no reply and fail.
    podium = make_podium(
        plan_json(("s1", "counter", "How many orders were placed in 2024?")),
        experts=[counter],
    )
    result = podium.run("How many orders were placed in 2024?")
    assert result.answer == "543 orders were placed in 2024."
    assert result.cost["model_calls"] == 1  # the plan only


def _listing(question: str, rows: int, *, total: int | None = None) -> dict[str, Any]:
    outcome = _outcome(question, [[i, f"Customer {i}"] for i in range(1, min(rows, 20) + 1)])
    outcome["output"].update(
        sql="SELECT o.id, c.name FROM orders o JOIN customers c ON o.customer_id = c.id",
        columns=["id", "name"],
        row_count=total if total is not None else rows,
        truncated=(total or rows) > 20,
    )
    return outcome


def test_a_long_listing_is_answered_with_its_size_and_its_first_rows():
    question = "List every order with its customer's name"
    plan = Plan(steps=[Step(id="s1", expert="nl2sql", input=question)])
    answer = direct_answer(plan, {"s1": _listing(question, 1000, total=1500)}, 0.5)  # type: ignore[dict-item]
    assert answer is not None
    lines = answer.splitlines()
    assert (
        lines[0] == "1,500 rows answer “List every order with its customer's name”; the first 20:"
    )
    assert lines[2] == "id | name"
    assert lines[3] == "1 | Customer 1"
    assert lines[22] == "20 | Customer 20"
    assert "The other 1,480 are not shown" in lines[-1]


def test_a_short_listing_is_left_to_the_model():
    question = "Which customers live in Berlin?"
    plan = Plan(steps=[Step(id="s1", expert="nl2sql", input=question)])
    assert direct_answer(plan, {"s1": _listing(question, 4)}, 0.5) is None  # type: ignore[dict-item]
    every = _listing(question, 12)
    assert direct_answer(plan, {"s1": every}, 0.5) is not None  # type: ignore[dict-item]
    assert "not shown" not in (direct_answer(plan, {"s1": every}, 0.5) or "")  # type: ignore[dict-item]
