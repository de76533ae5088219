"""A figure written beside the wrong row.

The writer restates a few rows in words, and the number check (every number must be in some
result) cannot see a figure moved from one row to another: asked "What is the average order
value per country?", the 1.5B wrote "451.08 for Canada" — the Netherlands' average, beside
Canada, whose own is 442.57. Each row of a step's table is therefore read as a name (a text
value no other row of that table has) and the numbers it holds, and a clause of the answer
that names exactly one row may not give a number that only other rows hold. A clause that
names no row, or several, is not judged: which figure belongs to which is then not said.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

_NUMBER = re.compile(r"(?<![\w.])-?\d[\d,]*(?:\.\d+)?")
# Where one pairing ends and the next begins: ", " and "; " (not the comma of "5,465.59"),
# a sentence's end, a line, and the words that join two pairings ("France 447.61 and
# Canada 442.57"). A colon joins a name to its figure ("Canada: 442.57"), so it does not split.
_CLAUSE = re.compile(r"[,;](?=\s)|[.!?](?=\s|$)|\s(?:and|but|while|whereas)\s|\n", re.I)
_LETTER = re.compile(r"[^\W\d_]")


@dataclass(frozen=True)
class RowFacts:
    """One row of a step's table: the name only it has, and its numbers as an answer may write
    them (exactly, or rounded to 0–2 decimals)."""

    name: str
    numbers: frozenset[str]

    def named_in(self, clause: str) -> bool:
        return re.search(rf"(?<!\w){re.escape(self.name)}(?!\w)", clause, re.I) is not None


def row_facts(outputs: Iterable[Any]) -> tuple[RowFacts, ...]:
    """The rows of every table among ``outputs`` (a step output with ``rows``, as nl2sql
    returns) that have a name of their own and at least one number."""
    facts: list[RowFacts] = []
    for output in outputs:
        rows = output.get("rows") if isinstance(output, dict) else None
        if not isinstance(rows, list) or len(rows) < 2:
            continue  # one row cannot be confused with another
        texts = [[v for v in row if isinstance(v, str) and _LETTER.search(v)] for row in rows]
        seen: dict[str, int] = {}
        for names in texts:
            for name in {n.strip().casefold() for n in names}:
                seen[name] = seen.get(name, 0) + 1
        for row, names in zip(rows, texts, strict=True):
            numbers = frozenset(_forms(row))
            own = [n.strip() for n in names if seen[n.strip().casefold()] == 1 and n.strip()]
            if numbers and own:
                facts.extend(RowFacts(name, numbers) for name in own)
    return tuple(facts)


def mispaired(answer: str, rows: tuple[RowFacts, ...]) -> str | None:
    """The first figure the answer gives beside a row that does not hold it while another
    row does, in words ("451.08 is Netherlands', not Canada's"); None when there is none."""
    if not rows:
        return None
    for clause in _CLAUSE.split(answer):
        named = {r.name.casefold(): r for r in rows if r.named_in(clause)}
        if len(named) != 1:
            continue
        (row,) = named.values()
        for written in _NUMBER.findall(clause):
            number = canon(written)
            if number in row.numbers:
                continue
            owner = next((r for r in rows if number in r.numbers), None)
            if owner is not None:
                return f"{written} is {owner.name}'s, not {row.name}'s"
    return None


def canon(number: str) -> str:
    """A number as text, written one way: no thousands commas, no trailing zeros."""
    text = number.replace(",", "")
    try:
        value = float(text)
    except ValueError:
        return text
    return str(int(value)) if value.is_integer() else repr(value)


def _forms(row: list[Any]) -> set[str]:
    forms: set[str] = set()
    for value in row:
        if isinstance(value, bool) or not isinstance(value, int | float):
            continue
        if isinstance(value, int) or float(value).is_integer():
            forms.add(str(int(value)))
            continue
        forms.add(canon(repr(value)))
        forms.update(canon(f"{value:.{places}f}") for places in (0, 1, 2))
    return forms
