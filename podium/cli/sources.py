"""What an answer used, in one line under it: the passage of each document step, the
database and query of each database step, and the document sentence each fact check's verdict
rests on — what the chat page lists as links under an answer, so a terminal user can check an
answer without opening the run."""

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
        for line in [_passage(step.output) or _query(step), *_verdict_sources(step.output)]:
            if line and line not in seen:
                seen.append(line)
    return seen


def _verdict_sources(output: Any) -> list[str]:
    """``warranty.md: “Every product … two-year warranty …”`` for each claim a fact check
    decided by a document's sentence."""
    claims = output.get("claims") if isinstance(output, dict) else None
    out = []
    for claim in claims if isinstance(claims, list) else []:
        source, text = claim.get("source"), claim.get("evidence")
        if not (isinstance(source, str) and source and isinstance(text, str) and text):
            continue
        if claim.get("label") not in ("SUPPORTS", "REFUTES"):
            continue
        quote = text if len(text) <= 80 else text[:80].rsplit(" ", 1)[0].rstrip(",;:") + "…"
        out.append(f"{_name(source)}: “{quote}”")
    return out


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
