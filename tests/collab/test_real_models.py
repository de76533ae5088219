"""The mechanisms and the bench on the real embedded models and the shared data slices."""

from __future__ import annotations

import asyncio
import json

import pytest
from typer.testing import CliRunner

from podium.cli import app
from podium.experts.base import ExpertContext, TextRequest
from podium.models.provider import ModelProvider
from podium.orchestrator.collaboration import Calibrator, LargeModelExpert

pytestmark = pytest.mark.slow


def test_large_model_expert_answers_within_its_choices_on_the_embedded_model() -> None:
    labels = ["SUPPORTS", "REFUTES", "NOT_ENOUGH_INFO"]
    expert = LargeModelExpert(choices=labels, max_tokens=8)
    ctx = ExpertContext(models=ModelProvider({"large": "local:smollm2"}))
    claim = "Claim: CO2 levels rose.\nEvidence:\n- Atmospheric CO2 increased by 50 %."
    result = asyncio.run(expert.arun(TextRequest(text=claim), ctx))
    assert result.ok and result.output in labels


def test_bench_schema_match_writes_table_plot_and_figures(shared_data, tmp_path) -> None:
    out = tmp_path / "bench"
    res = CliRunner().invoke(
        app,
        [
            "bench",
            "schema_match",
            "--data",
            str(shared_data / "schema_match"),
            "--out",
            str(out),
            "--n",
            "4",
            "--strategies",
            "small_only,large_only,cascade,draft_finalise",
            "--json",
        ],
    )
    assert res.exit_code == 0, res.output
    figures = json.loads((out / "figures.json").read_text())
    assert figures["task"] == "schema_match" and figures["n"] == 4
    strategies = figures["strategies"]
    assert set(strategies) == {"small_only", "large_only", "cascade"}  # draft: not applicable
    assert strategies["small_only"]["large_calls"] == 0
    assert strategies["large_only"]["large_calls"] == 4
    assert strategies["cascade"]["large_calls"] <= 4
    assert all(0.0 <= s["accuracy"] <= 1.0 for s in strategies.values())
    assert (out / "cost_quality.png").stat().st_size > 1000
    assert "| cascade |" in (out / "table.md").read_text()
    calibrator = Calibrator.load(out / "calibrator.json")
    assert calibrator.method == "isotonic" and 0.0 <= calibrator(0.5) <= 1.0
    assert calibrator.report["ece_after"] >= 0.0


def _bench(task: str, data, out, n: int, calibration: int, strategies: str, *extra: str):
    res = CliRunner().invoke(
        app,
        [
            "bench",
            task,
            "--data",
            str(data),
            "--out",
            str(out),
            "--n",
            str(n),
            "--calibration",
            str(calibration),
            "--strategies",
            strategies,
            "--json",
            *extra,
        ],
    )
    assert res.exit_code == 0, res.output
    return json.loads((out / "report.json").read_text())


def test_bench_fact_check_runs_the_fact_check_expert_and_the_large_judge(
    shared_data, tmp_path
) -> None:
    report = _bench(
        "fact_check", shared_data / "fact_check", tmp_path, 3, 6, "small_only,large_only,cascade"
    )
    s = report["strategies"]
    assert s["small_only"]["large_calls"] == 0 and s["large_only"]["reached_large"] == 1.0
    assert s["cascade"]["large_calls"] == s["cascade"]["extra"]["ledger"]["large_calls"]
    assert "left out" in report["notes"][0]  # the verifier's own training claims


def test_bench_retrieval_scores_ndcg_and_writes_a_policy_card(
    shared_data, tmp_path, workspace
) -> None:
    report = _bench(
        "retrieval",
        shared_data / "retrieval",
        tmp_path,
        3,
        8,
        "small_only,large_only,cascade",
        "--write-policy",
        "--workspace",
        str(workspace.root),
    )
    assert report["metric"] == "nDCG@10"
    s = report["strategies"]
    assert s["large_only"]["large_calls"] == 3
    assert all(0.0 <= v["accuracy"] <= 1.0 for v in s.values())
    card = json.loads((workspace.root / ".podium" / "policies" / "retrieval.json").read_text())
    assert card["strategy"] in s and card["metric"] == "nDCG@10"


def test_bench_nl2sql_runs_the_nl2sql_expert_on_both_rungs(shared_data, tmp_path) -> None:
    report = _bench("nl2sql", shared_data / "spider", tmp_path, 2, 4, "small_only,large_only")
    s = report["strategies"]
    assert s["small_only"]["large_calls"] == 0 and s["large_only"]["large_calls"] == 2
    assert s["small_only"]["tokens"] > 0 and s["large_only"]["tokens"] > 0
