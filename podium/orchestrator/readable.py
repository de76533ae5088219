"""A table result in words, for an answer put together without the writer.

When the writer's sentences fail the checks (a figure beside the wrong row, an amount called
a count) the answer falls back to the step's own result. That result is a summary made for a
model to read — ``[country, avg_value (average of total)] Canada, 442.57; France, 447.61`` —
and the user read it as such. The same figures read as a sentence: "avg value (average of
total) by country — Canada: 442.57; France: 447.61". Nothing is computed or reworded beyond
the column names, so the sentence carries exactly the rows the summary did.
"""

from __future__ import annotations

import re

# "[name, total (sum of orders.total)] Theo Bakker, 5465.59; ... (12 rows)"
_TABLE = re.compile(
    r"^\[(?P<header>[^\]]+)\]\s+(?P<rows>.+?)(?:\s+\((?P<count>[\d,]+\+?) rows\))?$"
)


def rows_in_words(summary: str) -> str | None:
    """``summary`` (nl2sql's table form) as a phrase, or None when it is not one whose cells
    can be told apart (a value with its own ", " or "; ")."""
    found = _TABLE.match(summary.strip())
    if found is None:
        return None
    labels = [_readable(label) for label in _split_top_level(found.group("header"))]
    rows = [row.split(", ") for row in found.group("rows").split("; ")]
    if not labels or any(len(row) != len(labels) for row in rows):
        return None
    count = found.group("count")
    more = f" ({count} rows in all, the first {len(rows)} shown)" if count else ""
    if len(rows) == 1:
        return "; ".join(f"{label}: {value}" for label, value in zip(labels, rows[0], strict=True))
    if len(labels) == 1:
        return f"{labels[0]}: {', '.join(row[0] for row in rows)}{more}"
    if len(labels) == 2:
        listed = "; ".join(f"{name}: {value}" for name, value in rows)
        return f"{labels[1]} by {labels[0]} — {listed}{more}"
    listed = "; ".join(
        f"{row[0]} ({', '.join(f'{k}: {v}' for k, v in zip(labels[1:], row[1:], strict=True))})"
        for row in rows
    )
    return f"{listed}{more}"


def _split_top_level(header: str) -> list[str]:
    """Column labels split at the commas outside parentheses ("total (sum of a, b)")."""
    labels, depth, current = [], 0, ""
    for char in header:
        depth += (char == "(") - (char == ")")
        if char == "," and depth == 0:
            labels.append(current.strip())
            current = ""
        else:
            current += char
    labels.append(current.strip())
    return [label for label in labels if label]


def _readable(label: str) -> str:
    """A column name with its underscores read as spaces, its computation left as written."""
    name, paren, rest = label.partition(" (")
    return name.replace("_", " ") + (paren + rest if paren else "")
