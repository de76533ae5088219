"""The FAISS index: exact, then IVF above a size with its recall measured; persistence."""

from __future__ import annotations

from pathlib import Path

import numpy as np

from podium.memory.index import LexicalIndex, VectorIndex, reciprocal_rank_fusion


def _clustered(n: int, dim: int = 32, seed: int = 1) -> np.ndarray:
    rng = np.random.default_rng(seed)
    centres = rng.normal(size=(40, dim))
    vecs = centres[rng.integers(0, 40, n)] + rng.normal(scale=0.4, size=(n, dim))
    return (vecs / np.linalg.norm(vecs, axis=1, keepdims=True)).astype(np.float32)


def test_index_turns_approximate_above_the_limit_and_keeps_recall(tmp_path: Path) -> None:
    vecs, queries = np.split(_clustered(3100), [3000])
    index = VectorIndex(32, exact_limit=1000)
    index.add(list(range(500)), vecs[:500])
    assert index.kind == "exact"
    index.add(list(range(500, 3000)), vecs[500:])
    assert index.kind == "ivf"
    assert index.info["recall@10"] >= 0.95

    exact = VectorIndex(32, exact_limit=10**9)
    exact.add(list(range(3000)), vecs)
    _, truth = exact.search(queries, 10)
    _, found = index.search(queries, 10)
    recall = np.mean([len(set(f) & set(t)) / 10 for f, t in zip(found, truth, strict=True)])
    assert recall >= 0.9


def test_removed_vectors_are_not_found_and_saving_round_trips(tmp_path: Path) -> None:
    vecs = _clustered(200)
    index = VectorIndex(32)
    index.add(list(range(100, 300)), vecs)
    index.remove([100, 101])
    _, ids = index.search(vecs[:2], 5)
    assert 100 not in ids[0] and 101 not in ids[1]
    index.save(tmp_path / "v.npz", {"model": "m"})
    loaded, meta = VectorIndex.load(tmp_path / "v.npz")
    assert meta["model"] == "m" and loaded.ids == index.ids
    _, again = loaded.search(vecs[5:6], 3)
    assert again[0][0] == 105


def test_filters_restrict_dense_and_lexical_search() -> None:
    vecs = _clustered(50)
    index = VectorIndex(32)
    index.add(list(range(50)), vecs)
    _, ids = index.search(vecs[:1], 5, allowed=np.asarray([10, 20, 30]))
    assert set(ids[0][ids[0] >= 0]) <= {10, 20, 30}
    lexical = LexicalIndex([1, 2, 3], ["red apples", "green apples", "blue sky"])
    assert list(lexical.search("apples", 5)[1]) in ([1, 2], [2, 1])
    assert list(lexical.search("apples", 5, allowed=np.asarray([2]))[1]) == [2]
    assert list(lexical.search("zebra", 5)[1]) == []


def test_reciprocal_rank_fusion_rewards_agreement() -> None:
    fused = reciprocal_rank_fusion({"dense": [1, 2, 3], "bm25": [3, 1, 4]})
    assert [d for d, _ in fused][:2] == [1, 3]
