"""What an answer used, in one line under it: the passage of each document step and the
database and query of each database step — what the chat page lists as links under an answer,
so a terminal user can check an answer without opening the run."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from podium.records import StepRecord


def answer_sources(steps: Iterable[StepRecord]) -> list[str]:
    """``shipping.md › Shipping > Delivery times and costs``, ``shop.sqlite: SELECT …``."""
    seen: list[str] = []
    for step in steps:
        if step.status != "ok":
            continue
        line = _passage(step.output) or _query(step)
        if line and line not in seen:
            seen.append(line)
    return seen


def _passage(output: Any) -> str | None:
    if not (isinstance(output, list) and output and isinstance(output[0], dict)):
        return None
    top = output[0]
    if not isinstance(top.get("text"), str):
        return None
    name = _name(str(top.get("source") or "document"))
    return f"{name} › {top['title']}" if top.get("title") else name


def _query(step: StepRecord) -> str | None:
    output = step.output
    if not (isinstance(output, dict) and isinstance(output.get("sql"), str)):
        return None
    database = next((e.source for e in step.evidence if e.kind == "sql" and e.source), "")
    sql = " ".join(output["sql"].split())
    return f"{_name(database)}: {sql}" if database else sql


def _name(source: str) -> str:
    """The file name of a path or a database URL (``sqlite:////x/shop.sqlite`` -> shop.sqlite)."""
    return source.replace("\\", "/").rstrip("/").rsplit("/", 1)[-1] or source
