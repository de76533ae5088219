"""`podium match` and `podium eval schema_match` as a user runs them."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from typer.testing import CliRunner

from podium.cli import app

runner = CliRunner()


@pytest.mark.slow
def test_match_prints_json_with_matches_and_candidates(customers: Path, clients: Path) -> None:
    res = runner.invoke(app, ["match", str(customers), str(clients), "--json"])
    assert res.exit_code == 0, res.output
    data = json.loads(res.stdout)
    matched = {m["source"]: m["target"] for m in data["matches"]}
    assert matched["email_addr"] == "email"
    assert len(data["columns"]) == 5
    assert data["columns"][0]["candidates"][0]["signals"]


def test_match_on_a_non_utf8_file_exits_2_with_the_fix(write_csv, clients: Path) -> None:
    bad = write_csv("bad.csv", "naïve,col\n1,2\n", encoding="latin-1")
    res = runner.invoke(app, ["match", str(bad), str(clients)])
    assert res.exit_code == 2
    assert "not UTF-8" in res.output


def test_eval_on_a_folder_without_pairs_exits_2(tmp_path: Path) -> None:
    res = runner.invoke(app, ["eval", "schema_match", "--data", str(tmp_path), "--json"])
    assert res.exit_code == 2
    assert "no pairs" in res.output


@pytest.mark.slow
def test_eval_on_the_gdc_pairs_reports_recall_at_gt(gdc: Path) -> None:
    res = runner.invoke(app, ["eval", "schema_match", "--data", str(gdc), "--json"])
    assert res.exit_code == 0, res.output
    data = json.loads(res.stdout)
    assert {"recall_at_gt", "f1", "pairs"} <= set(data)
    assert len(data["pairs"]) == 5
    assert data["recall_at_gt"] >= 0.5
    for pair in data["pairs"]:
        assert 0.0 <= pair["f1"] <= 1.0
        assert pair["ground_truth"] > 0
