"""nl2sql: Spider dev questions on the slice's SQLite databases, scored by execution.

An answer is right when its query returns the same multiset of rows as the gold query (row
order ignored). The small expert is the built-in NL2SQL expert's ``vote`` strategy on the
``small`` model with three drafts (its confidence is their agreement); the large expert is its
``few_shot`` strategy on the ``large`` model (:class:`RepairingNL2SQL`, which also reads a
draft and its execution error for draft→finalise). The expert's own agreement cascade is
measured by ``podium eval nl2sql`` / ``benchmarks/nl2sql.py``.
"""

from __future__ import annotations

import json
import random
import sqlite3
import tempfile
from pathlib import Path
from typing import Any

from pydantic import BaseModel

from podium.errors import InputRejected
from podium.experts.base import Expert, ExpertContext, ExpertResult
from podium.experts.nl2sql import NL2SQLExpert
from podium.experts.nl2sql.expert import NL2SQLRequest
from podium.models.provider import ModelProvider
from podium.orchestrator.collaboration.agreement import same_rows
from podium.orchestrator.collaboration.sql import RepairingNL2SQL, sql_feedback
from podium.workspace import DatabaseSpec, Workspace, WorkspaceConfig

from .base import ALL_STRATEGIES, BenchTask


def _rows(path: Path, sql: str) -> tuple[str, ...] | None:
    try:
        con = sqlite3.connect(f"file:{path}?mode=ro", uri=True)
        try:
            con.set_progress_handler(lambda: 0, 10_000)
            rows = con.execute(sql).fetchmany(10_001)
        finally:
            con.close()
    except sqlite3.Error:
        return None
    return tuple(sorted(repr(tuple(r)) for r in rows))


class NL2SQLTask(BenchTask):
    name = "nl2sql"
    expert = "nl2sql"
    strategies = ALL_STRATEGIES  # SQL drafts can be executed and repaired
    vote_mode = "majority"
    agree = staticmethod(same_rows)

    def __init__(
        self,
        data: Path,
        *,
        n: int,
        small: str,
        large: str,
        calibration: int = 6,
        seed: int = 0,
    ) -> None:
        dev = data / "dev.json"
        if not dev.is_file():
            raise InputRejected(f"{dev} not found", hint="point --data at the spider folder")
        items = json.loads(dev.read_text(encoding="utf-8"))
        random.Random(seed).shuffle(items)
        if n + calibration > len(items):
            raise InputRejected(f"n={n} plus {calibration} exceeds the {len(items)} questions")
        self.test, self.calib = items[:n], items[n : n + calibration]
        self.paths = {
            db: data / "database" / db / f"{db}.sqlite" for db in {i["db_id"] for i in items}
        }
        root = Path(tempfile.mkdtemp(prefix="podium-bench-nl2sql-"))
        config = WorkspaceConfig(
            name="spider",
            databases=[
                DatabaseSpec(name=db, url=f"sqlite:///{p}") for db, p in sorted(self.paths.items())
            ],
        )
        self.workspace = Workspace(root, config)
        self.models = ModelProvider(
            {"small": small, "large": large, "planner": large, "embeddings": "local:minilm"}
        )
        self.small_uri, self.large_uri = small, large
        self.small_label = f"{small} (3 drafts, result-set vote)"
        self.large_label = f"{large} (one greedy query, 4 chosen examples)"
        self._gold: dict[str, tuple[str, ...] | None] = {}
        self.notes = [
            f"{len(items)} Spider dev questions; {calibration} calibration, {n} test (seed {seed})",
            f"small = {small}, large = {large}",
        ]

    def calibration_examples(self) -> list[dict[str, Any]]:
        return self.calib

    def test_examples(self) -> list[dict[str, Any]]:
        return self.test

    def small(self) -> Expert:
        return NL2SQLExpert(model=self.small_uri, drafts=3, strategy="vote")

    def extra_voters(self) -> list[Expert]:
        voter = NL2SQLExpert(model=self.small_uri, drafts=1, quorum=1, strategy="vote")
        voter.name = "nl2sql_1draft"  # type: ignore[misc]
        return [voter]

    def large(self) -> Expert:
        expert = RepairingNL2SQL(large=self.large_uri, strategy="few_shot")
        expert.name = "nl2sql_large"  # type: ignore[misc]
        return expert

    def request(self, example: dict[str, Any]) -> BaseModel:
        return NL2SQLRequest(question=example["question"], database=example["db_id"])

    def context(self, example: dict[str, Any]) -> ExpertContext:
        return ExpertContext(task="nl2sql", workspace=self.workspace, models=self.models)

    def correct(self, result: ExpertResult, example: dict[str, Any]) -> bool:
        if not isinstance(result.output, dict) or not result.output.get("sql"):
            return False
        path = self.paths[example["db_id"]]
        key = example["query"]
        if key not in self._gold:
            self._gold[key] = _rows(path, key)
        gold = self._gold[key]
        return gold is not None and _rows(path, result.output["sql"]) == gold

    def validate(self, result: ExpertResult) -> str | None:
        return sql_feedback(result)
