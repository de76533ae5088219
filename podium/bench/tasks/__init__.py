"""Bench tasks by name: each builds its examples, experts and scorer from a data folder."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

from .base import BenchTask


def _fact_check(data: Path, **kw: Any) -> BenchTask:
    from .fact_check import FactCheckTask

    return FactCheckTask(data, **kw)


def _schema_match(data: Path, **kw: Any) -> BenchTask:
    from .schema_match import SchemaMatchTask

    return SchemaMatchTask(data, **kw)


def _nl2sql(data: Path, **kw: Any) -> BenchTask:
    from .nl2sql import NL2SQLTask

    return NL2SQLTask(data, **kw)


def _retrieval(data: Path, **kw: Any) -> BenchTask:
    from .retrieval import RetrievalTask

    return RetrievalTask(data, **kw)


TASKS: dict[str, Callable[..., BenchTask]] = {
    "fact_check": _fact_check,
    "schema_match": _schema_match,
    "nl2sql": _nl2sql,
    "retrieval": _retrieval,
}
