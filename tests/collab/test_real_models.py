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


def _tiny_climate_fever(folder, claims: int = 12):
    """Claims with one supporting, one refuting and one unrelated sentence each."""
    folder.mkdir()
    labels = ("SUPPORTS", "REFUTES", "NOT_ENOUGH_INFO")
    records, pairs = [], []
    for i in range(claims):
        claim = f"Glacier number {i} lost mass between {1980 + i} and 2020."
        sentences = {
            "SUPPORTS": f"Glacier number {i} has shrunk steadily since {1980 + i}.",
            "REFUTES": f"Glacier number {i} has grown since {1980 + i}, gaining ice every year.",
            "NOT_ENOUGH_INFO": f"Town number {i} hosts a music festival each summer.",
        }
        records.append(
            {
                "claim": claim,
                "claim_label": labels[i % 3],
                "evidences": [{"evidence": e, "evidence_label": y} for y, e in sentences.items()],
            }
        )
        pairs += [{"claim": claim, "evidence": e, "label": y} for y, e in sentences.items()]
    for name, rows in (("claims.jsonl", records), ("pairs.jsonl", pairs)):
        (folder / name).write_text("\n".join(json.dumps(r) for r in rows) + "\n")
    return folder


def test_cross_fitted_heads_never_answer_a_claim_they_were_trained_on(tmp_path) -> None:
    from podium.bench.tasks.fact_check import cross_fitted_heads
    from podium.experts.fact_check.train import load_pairs

    data = _tiny_climate_fever(tmp_path / "cf")
    keys = list(dict.fromkeys(load_pairs(data).groups))
    folds = [keys[0::2], keys[1::2]]
    heads = cross_fitted_heads(data, folds, augment=False, known={})
    for fold, other, head in zip(folds, reversed(folds), heads, strict=True):
        assert not set(fold) & head.trained_claims
        assert set(other) == head.trained_claims


def test_bench_fact_check_cross_fit_uses_every_labelled_claim(tmp_path) -> None:
    data = _tiny_climate_fever(tmp_path / "cf")
    report = _bench("fact_check", data, tmp_path / "out", 8, 4, "small_only", "--cross-fit", "2")
    assert report["n"] == 8  # 8 + 4 = all 12 claims, none left out for having trained the head
    assert "2-fold cross-fitting" in report["notes"][0]
    assert 0.0 <= report["strategies"]["small_only"]["accuracy"] <= 1.0
    too_many = CliRunner().invoke(
        app, ["bench", "fact_check", "--data", str(data), "--n", "20", "--cross-fit", "2"]
    )
    assert too_many.exit_code != 0 and "exceeds the 12 labelled claims" in " ".join(
        too_many.output.split()
    )


def test_the_large_model_names_the_candidate_column_that_means_the_same(
    shared_data, large_model
) -> None:
    """The 1.5B picks among the combined matcher's candidates by name (by number it said "2")."""
    from podium.bench.tasks.schema_match import SchemaMatchTask
    from podium.models.roles import default_roles

    large = default_roles()["large"]  # the installed 1.5B (the fixture skips without it)
    task = SchemaMatchTask(
        shared_data / "schema_match", n=1000, calibration=0, small="local:smollm2", large=large
    )
    wanted = {"Gender", "cause_of_death", "Tumor_purity", "follow_up_days"}
    examples = {e["source"]: e for e in task.test_examples() if e["source"] in wanted}
    picker = task.large()
    for source, example in examples.items():
        picked = asyncio.run(picker.arun(task.request(example), task.context(example)))
        assert picked.output in example["targets"], (source, picked.output)
    assert len(examples) == len(wanted)


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
