"""An amount written as a count of rows.

Asked "Who is our best customer in Germany?", the query returned the customer and
``SUM(o.total)``, and the 1.5B writer answered "a total of 5465.59 orders placed" — under
every wording of the prompt and of the column's label that was tried. Rows are counted in
whole numbers, so a number with a fractional part written right before the plural of a
table the step read ("5465.59 orders") cannot be what it says it is. The table names come
from the steps' own SQL; other nouns ("4.5 stars", "2.5 days") are not this check's to judge.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from typing import Any

import sqlglot
from sqlglot import exp
from sqlglot.errors import SqlglotError

_FRACTIONAL = re.compile(r"(?<![\w.])(\d[\d,]*\.\d*[1-9]\d*)\s+([^\W\d_]+)")


def counted_nouns(outputs: Iterable[Any]) -> frozenset[str]:
    """The plural nouns that count the rows of the tables the steps' queries read:
    ``orders``, ``customers``, and ``items`` for ``order_items``."""
    nouns: set[str] = set()
    for output in outputs:
        sql = output.get("sql") if isinstance(output, dict) else None
        if not isinstance(sql, str) or not sql.strip():
            continue
        try:
            tree = sqlglot.parse_one(sql)
        except SqlglotError:
            continue
        for table in tree.find_all(exp.Table):
            name = table.name.lower()
            for noun in {name, name.rsplit("_", 1)[-1]}:
                if len(noun) > 2:
                    nouns.add(noun if noun.endswith("s") else noun + "s")
    return frozenset(nouns)


def fractional_count(answer: str, nouns: frozenset[str]) -> str | None:
    """The first "5465.59 orders" of an answer (a fractional number of a table's rows), or
    None."""
    if not nouns:
        return None
    for m in _FRACTIONAL.finditer(answer):
        if m.group(2).lower() in nouns:
            return m.group(0)
    return None
