"""``podium train fact_check`` and ``podium eval fact_check`` on a small slice of the data."""

from __future__ import annotations

import json

import numpy as np
import pytest
import torch
import typer
from safetensors.torch import load_file
from typer.testing import CliRunner

from podium.cli import fact_check
from podium.experts.fact_check.verifier import HeadWeights

pytestmark = pytest.mark.slow


@pytest.fixture
def app() -> typer.Typer:
    root, eval_app, train_app = typer.Typer(), typer.Typer(), typer.Typer()
    root.add_typer(eval_app, name="eval")
    root.add_typer(train_app, name="train")
    fact_check.register(root, eval_app, train_app)
    return root


@pytest.fixture
def small(shared_data, tmp_path):
    """The pairs of the first 30 claims (150 pairs) and their claim labels."""
    lines = (shared_data / "fact_check" / "pairs.jsonl").read_text().splitlines()[:150]
    (tmp_path / "pairs.jsonl").write_text("\n".join(lines) + "\n")
    claims = (shared_data / "fact_check" / "claims.jsonl").read_text().splitlines()[:30]
    (tmp_path / "claims.jsonl").write_text("\n".join(claims) + "\n")
    return tmp_path


def test_cross_encoder_training_is_reproducible_and_eval_measures_only_unseen_claims(
    app, small, tmp_path
):
    runner = CliRunner()
    outs = [tmp_path / "a.safetensors", tmp_path / "b.safetensors"]
    for out in outs:
        args = ["--data", str(small), "--out", str(out), "--epochs", "1", "--top", "1"]
        res = runner.invoke(app, ["train", "fact_check", *args])
        assert res.exit_code == 0, res.output
    a, b = (load_file(str(p)) for p in outs)
    assert set(a) == set(b) and all(torch.equal(a[k], b[k]) for k in a)
    assert any(k.startswith("encoder.layer.5.") for k in a)  # only the top layer ships
    assert not any(k.startswith("encoder.layer.4.") for k in a)
    card = json.loads(outs[0].with_suffix(".json").read_text())
    assert card == json.loads(outs[1].with_suffix(".json").read_text())
    assert "Climate-FEVER" in card["meta"]["data"] and "licence" in card["meta"]["data_licence"]

    res = runner.invoke(
        app, ["eval", "fact_check", "--data", str(small), "--verifier", str(outs[0]), "--json"]
    )
    assert res.exit_code == 0, res.output
    report = json.loads(res.stdout)
    assert {"balanced_accuracy", "macro_f1", "ece", "n"} <= set(report)
    assert report["n"] == 30 and report["left_out_training_pairs"] == 120  # 6 of 30 claims
    assert report["claims"]["n"] == 6


def test_the_head_verifier_still_trains_reproducibly(app, small, tmp_path):
    runner = CliRunner()
    outs = [tmp_path / "a.npz", tmp_path / "b.npz"]
    for out in outs:
        args = ["train", "fact_check", "--model", "head", "--data", str(small), "--out", str(out)]
        res = runner.invoke(app, args)
        assert res.exit_code == 0, res.output
    a, b = (np.load(p) for p in outs)
    assert np.array_equal(a["W0"], b["W0"]) and float(a["temperature"]) == float(b["temperature"])
    meta = HeadWeights.load(outs[0]).meta
    assert "Climate-FEVER" in meta["data"] and "licence" in meta["data_licence"]


def test_the_head_verifier_trains_without_contrast_pairs(app, small, tmp_path):
    out = tmp_path / "plain.npz"
    args = ["train", "fact_check", "--model", "head", "--no-augment", "--data", str(small)]
    res = CliRunner().invoke(app, [*args, "--out", str(out), "--json"])
    assert res.exit_code == 0, res.output
    report = json.loads(res.stdout[res.stdout.index("{") :])
    assert report["split"]["contrast_pairs"] == 0
    assert report["model"]["augment"] == "False"
    assert np.load(out)["W0"].shape[1] == 3


def test_eval_refuses_a_folder_without_pairs(app, tmp_path):
    res = CliRunner().invoke(app, ["eval", "fact_check", "--data", str(tmp_path)])
    assert res.exit_code == 2
    assert "no claim–evidence pairs" in res.output


def test_train_refuses_an_unknown_model_kind(app, small):
    res = CliRunner().invoke(app, ["train", "fact_check", "--data", str(small), "--model", "x"])
    assert res.exit_code == 2
    assert "unknown --model" in res.output
