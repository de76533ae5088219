"""The fact-check expert and guardian on the real embedded encoder and the shipped weights."""

from __future__ import annotations

import asyncio
import json
from pathlib import Path

import pytest

from podium import Podium, expert
from podium.experts.base import ExpertContext
from podium.experts.fact_check import (
    FactCheckExpert,
    FactCheckGuardian,
    FactCheckRequest,
    load_verifier,
)
from podium.experts.fact_check.train import evaluate
from podium.guardians import GuardInput
from podium.workspace import Workspace

from ..scripted import plan_json, scripted

pytestmark = pytest.mark.slow

DEMO_DOCS = Path(__file__).resolve().parents[2] / "podium" / "demo" / "docs"
DEMO_ANSWERS = Path(__file__).with_name("demo_answers.json")

ICE = (
    "Arctic sea ice extent has declined sharply since satellite records began in 1979, "
    "shrinking by about 13 percent per decade."
)


def test_shipped_verifier_beats_chance_on_the_validation_claims(shared_data):
    result = evaluate(shared_data / "fact_check")
    assert result["left_out_training_pairs"] > 2500  # only validation claims were measured
    assert 700 < result["n"] < 900
    assert result["balanced_accuracy"] > 0.42  # chance is 1/3
    assert result["macro_f1"] > 0.40
    assert result["ece"] < 0.08
    assert set(result["f1"]) == {"SUPPORTS", "REFUTES", "NOT_ENOUGH_INFO"}


def test_the_opt_in_cross_encoder_is_measured_only_on_claims_it_never_saw(shared_data):
    result = evaluate(shared_data / "fact_check", load_verifier("cross"))
    assert result["left_out_training_pairs"] == 3845 - 770  # fit and calibration claims
    assert result["verifier"] == "fact_check:cross-minilm-top2"
    assert result["balanced_accuracy"] > 0.42  # chance is 1/3; BENCHMARKS.md: 0.456
    assert result["ece"] < 0.06


def test_the_expert_refutes_a_claim_its_evidence_contradicts():
    expert = FactCheckExpert()
    request = FactCheckRequest(
        text="Is it true that Arctic sea ice has been growing since 1979?", evidence=[ICE]
    )
    result = expert.run(request, ExpertContext())
    assert result.output["verdict"] == "REFUTES", result.summary
    (claim,) = result.output["claims"]
    assert claim["evidence"] == ICE
    assert 0.5 <= result.confidence <= 1
    assert result.evidence[0].metadata["label"] == "REFUTES"


def test_the_expert_refutes_a_claim_whose_number_the_documents_state_otherwise():
    """On the demo shop's own documents: the small verifier alone called this supported."""
    warranty = (DEMO_DOCS / "warranty.md").read_text(encoding="utf-8")
    request = FactCheckRequest(
        text="Is it true that every product carries a three-year warranty?", evidence=[warranty]
    )
    result = FactCheckExpert().run(request, ExpertContext())
    assert result.output["verdict"] == "REFUTES", result.summary
    (claim,) = result.output["claims"]
    assert "two-year warranty" in claim["evidence"] and claim["method"] == "rule"

    about = (DEMO_DOCS / "about.md").read_text(encoding="utf-8")
    request = FactCheckRequest(
        text="Check this claim against our documents: the shop was founded in 2019 in Rotterdam.",
        evidence=[about],
    )
    result = FactCheckExpert().run(request, ExpertContext())
    assert result.output["verdict"] == "SUPPORTS", result.summary


def test_the_expert_supports_a_claim_from_a_dependency_and_ignores_unrelated_material():
    expert = FactCheckExpert()
    deps = {
        "s1": {
            "expert": "retrieval",
            "output": [],
            "error": None,
            "evidence": [
                {"kind": "passage", "text": ICE, "source": "ice.md"},
                {"kind": "passage", "text": "Polar bears hunt seals on the ice.", "source": "b.md"},
            ],
        }
    }
    request = FactCheckRequest(text="Arctic sea ice has declined since 1979.")
    result = expert.run(request, ExpertContext(dependencies=deps))
    assert result.output["verdict"] == "SUPPORTS", result.summary
    assert result.output["claims"][0]["source"] == "ice.md"


def test_the_guardian_flags_an_answer_with_a_contradicted_claim_and_allows_a_faithful_one():
    guardian = FactCheckGuardian()
    evidence = [{"kind": "passage", "text": ICE, "source": "ice.md"}]
    bad = GuardInput(
        text="Arctic sea ice has been growing since 1979. Polar bears live in the Arctic.",
        stage="out",
        evidence=evidence,
    )
    good = GuardInput(text="Arctic sea ice has shrunk since 1979.", stage="out", evidence=evidence)
    flagged, allowed = asyncio.run(guardian.inspect(bad)), asyncio.run(guardian.inspect(good))
    assert flagged.action == "flag" and flagged.category == "contradicted_claim"
    assert "growing" in flagged.reason and "ice.md" in flagged.reason
    assert allowed.action == "allow"


@expert(description="Says when satellite records of a quantity began.")
def record_start(text: str) -> str:
    return "Satellite records began in 1979."


def test_guard_out_flags_a_run_whose_answer_contradicts_the_retrieved_documents(tmp_path):
    """A full run: the real retrieval expert finds the passage, the (scripted) writer
    contradicts it, and the default guard_out fact-check flags the answer. One of the two
    steps is not a passage search, so the writer writes (a plan whose steps all found
    passages is quoted, not written)."""
    docs = tmp_path / "docs"
    docs.mkdir()
    (docs / "ice.md").write_text(f"# Arctic sea ice\n\n{ICE}\n", encoding="utf-8")
    workspace = Workspace.init(tmp_path / "ws", documents=[str(docs)])
    question = "How has Arctic sea ice changed since 1979?"
    planner = scripted(
        plan_json(("s1", "retrieval", question), ("s2", "record_start", "Arctic sea ice")),
        "Arctic sea ice extent has increased sharply since 1979.",
    )
    podium = Podium(
        planner=planner,
        experts=[record_start],
        workspace=workspace,
        plugins=False,
        warmup=False,
        semantic_check=False,
    )
    result = podium.run(question)

    assert result.status == "done"
    assert result.steps[0]["evidence"][0]["source"].endswith("ice.md")
    (verdict,) = [v for v in result.verdicts if v["guardian"] == "fact_check"]
    assert verdict["stage"] == "out"
    assert (verdict["action"], verdict["category"]) == ("flag", "contradicted_claim")
    assert "increased sharply" in verdict["reason"] and "ice.md" in verdict["reason"]


def test_the_guardian_rarely_flags_correct_demo_answers():
    """22 faithful answers about the demo shop, checked against all five demo documents: the
    false-alarm bound of issue 18 is 5 %, at most 1 of 22. (How many of the 22 contradicted
    twins in the same file it catches is measured in BENCHMARKS.md, not bounded here.)"""
    docs = [
        {"kind": "passage", "text": p.read_text(encoding="utf-8"), "source": p.name}
        for p in sorted(DEMO_DOCS.glob("*.md"))
    ]
    cases = json.loads(DEMO_ANSWERS.read_text(encoding="utf-8"))
    guardian = FactCheckGuardian()

    def flagged(answer: str) -> bool:
        verdict = asyncio.run(guardian.inspect(GuardInput(answer, "out", evidence=docs)))
        return verdict.action == "flag"

    false_alarms = [c["good"] for c in cases if flagged(c["good"])]
    assert len(cases) == 22
    assert len(false_alarms) <= 1, false_alarms
