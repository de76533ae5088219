"""Retrieval metrics at document level, on a hand-made qrels/run pair whose values are known.

The values below are worked out by hand (trec_eval's nDCG: linear gain, log2(rank + 1)
discount, ideal ranking of the judged documents), not read back from the code under test.
"""

from __future__ import annotations

import math

import pytest

from podium.errors import InputRejected
from podium.experts.retrieval.evaluate import BeirData, document_run, measure, score_runs
from podium.memory.documents import Hit, rank_documents


def hit(source: str, chunk: int, score: float = 0.0) -> Hit:
    return Hit(chunk, f"{source} part {chunk}", source, title="", page=None, score=score)


# q1: d1 (gain 2) is cut into three chunks that all rank; d3 is not relevant; d2 has gain 1.
# q2: the relevant d5 comes after two chunks of d6. q3: nothing was found.
QRELS = {"q1": {"d1": 2, "d2": 1}, "q2": {"d5": 1}, "q3": {"d7": 1}}
HITS = {
    "q1": [hit("d1", 1), hit("d1", 2), hit("d3", 7), hit("d2", 4), hit("d1", 3)],
    "q2": [hit("d6", 11), hit("d6", 12), hit("d5", 10)],
    "q3": [],
}
IDEAL_Q1 = 2 + 1 / math.log2(3)
NDCG = {"q1": (2 + 1 / math.log2(4)) / IDEAL_Q1, "q2": 1 / math.log2(3), "q3": 0.0}
MRR = {"q1": 1.0, "q2": 0.5, "q3": 0.0}
RECALL = {"q1": 1.0, "q2": 1.0, "q3": 0.0}


def test_a_run_lists_each_document_once_in_our_order() -> None:
    assert document_run(HITS["q1"]) == {"d1": 3.0, "d3": 2.0, "d2": 1.0}
    assert document_run([]) == {}


def test_metrics_match_the_hand_computed_values_with_a_document_in_several_chunks() -> None:
    per_query = measure(QRELS, {q: document_run(h) for q, h in HITS.items()})
    for q in QRELS:
        assert per_query[q]["ndcg@10"] == pytest.approx(NDCG[q], abs=1e-4), q
        assert per_query[q]["mrr@10"] == pytest.approx(MRR[q]), q
        assert per_query[q]["recall@100"] == pytest.approx(RECALL[q]), q


def test_counting_chunks_would_exceed_one_but_the_reported_ndcg_cannot() -> None:
    # What ranking chunks used to score for q1: d1's gain counted at ranks 1, 2 and 5.
    chunk_dcg = 2 + 2 / math.log2(3) + 1 / math.log2(5) + 2 / math.log2(6)
    assert chunk_dcg / IDEAL_Q1 > 1.6
    data = BeirData(corpus={}, queries=dict.fromkeys(QRELS, "?"), qrels=QRELS)
    report = score_runs({"hybrid": HITS}, data)["hybrid"]
    assert report["ndcg@10"] == pytest.approx(sum(NDCG.values()) / 3, abs=1e-4)
    assert report["mrr@10"] == pytest.approx(0.5)
    assert report["recall@100"] == pytest.approx(2 / 3, abs=1e-4)
    assert report["queries"] == 3


def test_a_relevant_document_past_rank_ten_adds_recall_but_no_ndcg_or_mrr() -> None:
    hits = [hit(f"x{i}", i) for i in range(10)] + [hit("d5", 99)]
    scores = measure({"q2": QRELS["q2"]}, {"q2": document_run(hits)})["q2"]
    assert scores == {"ndcg@10": 0.0, "recall@100": 1.0, "mrr@10": 0.0}


def test_max_aggregation_ranks_a_document_at_its_best_chunk_and_keeps_that_passage() -> None:
    docs = rank_documents(HITS["q1"], "max")
    assert [h.source for h in docs] == ["d1", "d3", "d2"]
    assert docs[0].chunk_id == 1 and docs[0].matched_chunks == 3


def test_rrf_aggregation_lifts_a_document_that_matches_in_several_places() -> None:
    hits = [hit("a", 1), hit("b", 2), hit("b", 3), hit("b", 4), hit("c", 5)]
    assert [h.source for h in rank_documents(hits, "max")] == ["a", "b", "c"]
    fused = rank_documents(hits, "rrf", top=3, k=60)
    assert [h.source for h in fused] == ["b", "a", "c"]
    assert fused[0].chunk_id == 2  # still shown with its best passage
    assert fused[0].score == pytest.approx(1 / 62 + 1 / 63 + 1 / 64)


def test_an_unknown_aggregation_is_refused_with_a_hint() -> None:
    with pytest.raises(InputRejected) as info:
        rank_documents(HITS["q1"], "mean")
    assert "max" in (info.value.hint or "")
