"""``podium train fact_check`` and ``podium eval fact_check`` on a small slice of the data."""

from __future__ import annotations

import json

import numpy as np
import pytest
import typer
from typer.testing import CliRunner

from podium.experts.fact_check import commands

pytestmark = pytest.mark.slow


@pytest.fixture
def app() -> typer.Typer:
    root, eval_app, train_app = typer.Typer(), typer.Typer(), typer.Typer()
    root.add_typer(eval_app, name="eval")
    root.add_typer(train_app, name="train")
    commands.register(root, eval_app, train_app)
    return root


@pytest.fixture
def small(shared_data, tmp_path):
    """The pairs of the first 30 claims (150 pairs) and their claim labels."""
    lines = (shared_data / "fact_check" / "pairs.jsonl").read_text().splitlines()[:150]
    (tmp_path / "pairs.jsonl").write_text("\n".join(lines) + "\n")
    claims = (shared_data / "fact_check" / "claims.jsonl").read_text().splitlines()[:30]
    (tmp_path / "claims.jsonl").write_text("\n".join(claims) + "\n")
    return tmp_path


def test_training_is_reproducible_and_eval_measures_only_unseen_claims(app, small, tmp_path):
    runner = CliRunner()
    outs = [tmp_path / "a.npz", tmp_path / "b.npz"]
    for out in outs:
        res = runner.invoke(app, ["train", "fact_check", "--data", str(small), "--out", str(out)])
        assert res.exit_code == 0, res.output
    a, b = (np.load(p) for p in outs)
    assert np.array_equal(a["W0"], b["W0"]) and float(a["temperature"]) == float(b["temperature"])

    res = runner.invoke(
        app, ["eval", "fact_check", "--data", str(small), "--verifier", str(outs[0]), "--json"]
    )
    assert res.exit_code == 0, res.output
    report = json.loads(res.stdout)
    assert {"balanced_accuracy", "macro_f1", "ece", "n"} <= set(report)
    assert report["n"] == 30 and report["left_out_training_pairs"] == 120  # 6 of 30 claims
    assert report["claims"]["n"] == 6


def test_eval_refuses_a_folder_without_pairs(app, tmp_path):
    res = CliRunner().invoke(app, ["eval", "fact_check", "--data", str(tmp_path)])
    assert res.exit_code == 2
    assert "no claim–evidence pairs" in res.output
