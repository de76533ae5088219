"""The bench runner over a scripted task: same examples, every strategy, counted calls."""

from __future__ import annotations

from typing import Any

import pytest
from pydantic import BaseModel
from typer.testing import CliRunner

from podium.bench import run_bench
from podium.bench.core import wilson
from podium.bench.tasks.base import BenchTask
from podium.cli import app
from podium.experts.base import Expert, ExpertContext, ExpertResult, TextRequest


class Oracle(Expert):
    """Right when ``example % modulo == 0``, with a confidence that says so (or not)."""

    description = "scripted"

    def __init__(self, name: str, modulo: int, honest: bool) -> None:
        self.name, self.modulo, self.honest = name, modulo, honest  # type: ignore[misc]

    async def arun(self, request: BaseModel, ctx: ExpertContext) -> ExpertResult:
        k = int(request.text)  # type: ignore[attr-defined]
        right = k % self.modulo == 0
        conf = (0.9 if right else 0.2) if self.honest else 0.9
        return ExpertResult(output="right" if right else f"wrong{k}", confidence=conf)


class Toy(BenchTask):
    name = "toy"

    def __init__(self) -> None:
        self.notes = []

    def calibration_examples(self) -> list[int]:
        return list(range(100, 140))

    def test_examples(self) -> list[int]:
        return list(range(40))

    def small(self) -> Expert:
        return Oracle("small", 2, honest=True)  # right on half, and knows when

    def large(self) -> Expert:
        return Oracle("large", 1, honest=True)  # always right

    def request(self, example: Any) -> BaseModel:
        return TextRequest(text=str(example))

    def context(self, example: Any) -> ExpertContext:
        return ExpertContext()

    def correct(self, result: ExpertResult, example: Any) -> bool:
        return result.output == "right"


def test_cascade_on_an_honest_small_expert_matches_large_with_half_the_calls() -> None:
    report = run_bench(Toy(), ["small_only", "large_only", "cascade", "vote"])
    s = report.strategies
    assert s["small_only"].accuracy == 0.5 and s["small_only"].large_calls == 0
    assert s["large_only"].accuracy == 1.0 and s["large_only"].large_calls == 40
    assert s["cascade"].accuracy == 1.0 and s["cascade"].large_calls == 20
    assert s["cascade"].extra["ledger"]["saved_large_calls"] == 20
    assert report.calibration["ece_after"] <= report.calibration["ece_before"]
    assert set(report.figures()["strategies"]) == {"small_only", "large_only", "cascade", "vote"}


def test_strategies_that_do_not_apply_are_left_out_and_noted() -> None:
    report = run_bench(Toy(), ["small_only", "draft_finalise"])
    assert list(report.strategies) == ["small_only"]
    assert any("draft_finalise" in note for note in report.notes)
    with pytest.raises(ValueError, match="unknown strategies"):
        run_bench(Toy(), ["telepathy"])


def test_wilson_interval_brackets_the_proportion() -> None:
    low, high = wilson(12, 20)
    assert low < 0.6 < high and high - low < 0.45
    assert wilson(0, 0) == (0.0, 0.0)


def test_bench_refuses_an_unknown_task_and_a_missing_folder(tmp_path) -> None:
    unknown = CliRunner().invoke(app, ["bench", "poetry", "--data", str(tmp_path)])
    assert unknown.exit_code == 2 and "unknown task 'poetry'" in " ".join(unknown.output.split())
    missing = CliRunner().invoke(app, ["bench", "nl2sql", "--data", str(tmp_path / "nope")])
    said = " ".join(missing.output.split())  # rich wraps long lines
    assert missing.exit_code == 2 and "nope is not a folder; point --data" in said
    wrong = CliRunner().invoke(
        app, ["bench", "schema_match", "--data", str(tmp_path), "--cross-fit", "5"]
    )
    assert wrong.exit_code == 2 and "fact_check only" in " ".join(wrong.output.split())


class CountingOracle(Oracle):
    """An oracle that counts how often it really ran."""

    def __init__(self, name: str, modulo: int, honest: bool) -> None:
        super().__init__(name, modulo, honest)
        self.ran = 0

    async def arun(self, request: BaseModel, ctx: ExpertContext) -> ExpertResult:
        self.ran += 1
        return await super().arun(request, ctx)


class CountingToy(Toy):
    def __init__(self) -> None:
        super().__init__()
        self.big = CountingOracle("large", 1, honest=True)

    def large(self) -> Expert:
        return self.big


def test_a_repeated_large_call_is_replayed_but_still_counted_for_each_strategy() -> None:
    task = CountingToy()
    report = run_bench(task, ["large_only", "cascade", "vote"])
    s = report.strategies
    # large_only asks all 40; cascade and vote ask the same requests again and are charged
    # for them, but the model itself answered each request once.
    assert s["large_only"].large_calls == 40 and s["vote"].large_calls == 40
    assert s["cascade"].large_calls == 20
    assert task.big.ran == 40


def test_each_strategy_says_how_often_it_reached_the_large_model_and_whom_it_overruled() -> None:
    report = run_bench(Toy(), ["small_only", "large_only", "cascade"])
    s = report.strategies
    assert s["small_only"].reached_large == 0.0
    assert s["large_only"].reached_large == 1.0
    assert s["cascade"].reached_large == 0.5
    # The large model is always right: it fixes the small expert's 20 misses, breaks nothing.
    assert s["large_only"].extra["fixed_vs_small"] == 20
    assert s["large_only"].extra["broke_vs_small"] == 0
    assert s["cascade"].extra["ledger"]["by_decision"] == {
        "cascade:accepted": 20,
        "cascade:escalated": 20,
    }


def test_a_graded_metric_gets_a_mean_interval_not_a_proportion_one() -> None:
    class Graded(Toy):
        metric = "nDCG@10"

        def score(self, result: ExpertResult, example: Any) -> float:
            return 0.75 if result.output == "right" else 0.25

    report = run_bench(Graded(), ["small_only"])
    small = report.strategies["small_only"]
    assert small.accuracy == 0.5 and report.metric == "nDCG@10"
    assert small.ci_low < 0.5 < small.ci_high and small.ci_high - small.ci_low < 0.2
