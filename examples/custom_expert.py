"""Register your own expert with a decorator and let the planner use it.

python examples/custom_expert.py
"""

from __future__ import annotations

from datetime import date

from podium import ExpertResult, Podium, expert


@expert(
    examples=("How many days until 2026-12-25?", "How many days between 2025-01-01 and 2025-03-01?")
)
def days_between(question: str) -> ExpertResult:
    """Counts the days between two dates (or from today) given as YYYY-MM-DD in the question."""
    import re

    found = [date.fromisoformat(d) for d in re.findall(r"\d{4}-\d{2}-\d{2}", question)]
    if not found:
        return ExpertResult.failure("no YYYY-MM-DD date in the question")
    start, end = (found[0], found[1]) if len(found) > 1 else (date.today(), found[0])
    days = (end - start).days
    return ExpertResult(output=days, summary=f"{days} days from {start} to {end}", confidence=1.0)


if __name__ == "__main__":
    podium = Podium(experts=[days_between])
    result = podium.run(
        "How many days are there between 2025-01-01 and 2025-03-01, "
        "and what is the return policy for damaged items?"
    )
    for step in result.steps:
        print(f"{step['step_id']} {step['expert']}: {step['summary'] or step['output']}")
    print(result.answer)
