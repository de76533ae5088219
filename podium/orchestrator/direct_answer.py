"""Answers that need no synthesis: one step whose result already is the answer.

Synthesis is the last model call of a run and, on 2 cores with the 1.5B model, several
seconds of it. When the plan has one step and that step returned a single count for a
"How many ... are/were ...?" question, the sentence the model would write is the question
turned around ("How many orders were placed in 2024?" + 543 -> "543 orders were placed in
2024."), so Podium writes it itself. A long listing (more rows than a sentence holds) is
also answered directly: its size and its first rows as lines, because a model asked to write
prose from a thousand rows names ten of them and never says how many there were. Anything less
clear-cut (a count of one, a question with "do"-support, a few rows, a passage) still goes to
the model.
"""

from __future__ import annotations

import re

from .plan import Plan
from .state import StepOutcome

# "How many <things> <be/have> <rest>?" — the forms whose answer reads "<n> <things> <rest>."
_HOW_MANY = re.compile(
    r"^\s*how many (?P<things>[\w' -]+?) (?P<verb>are|were|is|was|have been|has been|had been"
    r"|will be|exist|existed)(?P<rest>\b[^?]*)\?*\s*$",
    re.I,
)
# Words that signal the subject continues past the verb in a way the turn-around garbles.
_UNSAFE = re.compile(r"\b(?:do|does|did|there)\b", re.I)


def direct_answer(plan: Plan, results: dict[str, StepOutcome], min_confidence: float) -> str | None:
    """The answer without a model call, or None when the model should write it."""
    if len(plan.steps) != 1:
        return None
    outcome = results.get(plan.steps[0].id)
    if outcome is None or outcome["status"] != "ok" or outcome["confidence"] < min_confidence:
        return None
    listing = _listing(outcome["output"], outcome["input"])
    if listing is not None:
        return listing
    count = _single_count(outcome["output"])
    if count is None or count == 1:
        return None
    match = _HOW_MANY.match(outcome["input"])
    if match is None or _UNSAFE.search(match["things"]):
        return None
    things, verb, rest = match["things"].strip(), match["verb"].lower(), match["rest"].rstrip()
    if rest.strip().lower() == "there":  # "How many singers are there?"
        verb = {"is": "are", "was": "were"}.get(verb, verb)  # a count of one never gets here
        return f"There {verb} {count:,} {things}." if count else f"There {verb} no {things}."
    if count == 0:
        verb = {"is": "are", "was": "were", "has been": "have been"}.get(verb, verb)
        return f"No {things} {verb}{rest}."
    return f"{count:,} {things} {verb}{rest}."


# More rows than this are listed as lines, not left to the model to put into a sentence.
LISTING_ROWS = 10


def _listing(output: object, question: str) -> str | None:
    """A long table result as its size and its first rows, one ``a | b`` line each."""
    if not isinstance(output, dict):
        return None
    rows, columns = output.get("rows"), output.get("columns")
    if not isinstance(rows, list) or not isinstance(columns, list) or not columns:
        return None
    total = output.get("row_count")
    total = total if isinstance(total, int) and total >= len(rows) else len(rows)
    if total <= LISTING_ROWS or not rows:
        return None
    asked = question.strip().rstrip("?.")
    shown = "" if len(rows) == total else f"; the first {len(rows):,}"
    lines = [f"{total:,} rows answer “{asked}”{shown}:", "", " | ".join(map(str, columns))]
    lines += [" | ".join(_cell(v) for v in row) for row in rows]
    if len(rows) < total:
        lines += [
            "",
            f"The other {total - len(rows):,} are not shown: ask for fewer (a filter, or the "
            "top 10 by something), or run the step's query with `podium sql`.",
        ]
    return "\n".join(lines)


def _cell(value: object) -> str:
    if isinstance(value, float):  # 81.0 -> 81, 24.95 -> 24.95, 1/3 -> 0.33
        return str(int(value)) if value.is_integer() else f"{value:.2f}".rstrip("0")
    return "" if value is None else str(value)


def _single_count(output: object) -> int | None:
    """The integer in a one-row, one-column table result (what a COUNT query returns)."""
    if not isinstance(output, dict):
        return None
    rows = output.get("rows")
    if not isinstance(rows, list) or len(rows) != 1:
        return None
    row = rows[0]
    if not isinstance(row, list | tuple) or len(row) != 1:
        return None
    value = row[0]
    if isinstance(value, bool) or not isinstance(value, int):
        return None
    return value
