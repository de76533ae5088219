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
