"""retrieval: the Climate-FEVER retrieval slice (BEIR format), scored by nDCG@10.

The small expert is the built-in retrieval expert (hybrid search: MiniLM in FAISS and BM25,
fused, with its calibrated confidence that the top passage is relevant) over a workspace
whose document store holds the corpus. The large expert is, by default, the same search with
the large model writing a passage for the query that the search reads beside it (query
expansion, :mod:`podium.memory.documents.expand`); ``large_policy="pick"`` makes it read the
small expert's top ``k`` passages and pick the one that best answers the query instead (a
choice among numbers, as DESIGN.md advises), the pick moving to rank 1. Queries are split as
the retrieval calibrator was fit: its ``dev`` half gives the cascade's calibration examples,
the ``test`` half the test examples.
"""

from __future__ import annotations

import hashlib
import random
import tempfile
from collections.abc import Sequence
from pathlib import Path
from typing import Any, Literal

from filelock import FileLock
from langchain_core.messages import BaseMessage, HumanMessage, SystemMessage
from pydantic import BaseModel

from podium.experts.base import Expert, ExpertContext, ExpertResult
from podium.experts.retrieval import RetrievalExpert, RetrievalRequest
from podium.experts.retrieval.evaluate import load_beir, measure
from podium.experts.retrieval.splits import split_of
from podium.memory.documents import for_workspace
from podium.models.provider import ModelProvider
from podium.orchestrator.collaboration import LargeModelExpert
from podium.workspace import Workspace, WorkspaceConfig

from .base import BenchTask

SYSTEM = (
    "You judge search results. Given a claim and numbered passages, answer with the number "
    "of the passage that best supports or refutes the claim."
)


def _digest(data: Path) -> str:
    stat = (data / "corpus.jsonl").stat()
    key = f"{(data / 'corpus.jsonl').resolve()}:{stat.st_size}:{stat.st_mtime_ns}"
    return hashlib.sha1(key.encode()).hexdigest()[:12]


class PassagePicker(LargeModelExpert):
    """The large model picks the best of the small expert's top passages."""

    def __init__(self, k: int) -> None:
        super().__init__(choices=[str(i) for i in range(1, k + 1)], system=SYSTEM, max_tokens=4)
        self.name = "passage_picker"  # type: ignore[misc]
        self.k = k

    def prompt(self, request: BaseModel, ctx: ExpertContext) -> list[BaseMessage]:
        assert isinstance(request, RetrievalRequest)
        passages = ctx.options.get("passages") or []
        lines = "\n".join(
            f"{i}. ({p.get('title') or ''}) {p['text'][:300]}"
            for i, p in enumerate(passages[: self.k], 1)
        )
        text = f"Claim: {request.query}\n\nPassages:\n{lines}\n\nThe best passage number:"
        return [SystemMessage(self.system), HumanMessage(text)]

    async def arun(self, request: BaseModel, ctx: ExpertContext) -> ExpertResult:
        passages = list(ctx.options.get("passages") or [])
        if not passages:
            return ExpertResult.failure("no passages to judge")
        pick = await super().arun(request, ctx)
        i = int(pick.output) - 1 if str(pick.output).isdigit() else 0
        i = i if 0 <= i < len(passages) else 0
        ranked = [passages[i], *passages[:i], *passages[i + 1 :]]
        return ExpertResult(
            output=ranked,
            summary=ranked[0]["text"],
            confidence=pick.confidence,
            details={"picked": i + 1},
        )


class ExpandedRetrieval(RetrievalExpert):
    """The retrieval expert with the large model expanding every query."""

    name = "expanded_retrieval"

    def __init__(self) -> None:
        super().__init__(expand="large")


class RetrievalTask(BenchTask):
    name = "retrieval"
    expert = "retrieval"
    strategies = ("small_only", "large_only", "cascade")
    metric = "nDCG@10"

    def __init__(
        self,
        data: Path,
        *,
        n: int,
        small: str,
        large: str,
        calibration: int = 60,
        k: int = 5,
        seed: int = 0,
        large_policy: Literal["expand", "pick"] = "expand",
    ) -> None:
        beir = load_beir(data)
        self.qrels = beir.qrels
        queries = [{"id": q, "text": t} for q, t in sorted(beir.queries.items())]
        rng = random.Random(seed)
        dev = [q for q in queries if split_of(q["id"]) == "dev"]
        test = [q for q in queries if split_of(q["id"]) == "test"]
        rng.shuffle(dev)
        rng.shuffle(test)
        self.test, self.calib = test[:n], dev[:calibration]
        # The indexed corpus is kept between runs (indexing it costs minutes on 2 cores). One
        # process indexes at a time, and an index a stopped run left half-built is completed
        # (unchanged documents are skipped), so concurrent runs never read a partial corpus.
        root = Path(tempfile.gettempdir()) / f"podium-bench-retrieval-{_digest(data)}"
        root.mkdir(parents=True, exist_ok=True)
        self.workspace = Workspace(root, WorkspaceConfig(name="climate-fever"))
        with FileLock(str(root / "index.lock")):
            store = for_workspace(self.workspace, "local:minilm")
            if len(store.sources()) < len(beir.corpus):
                store.add_texts(
                    {"source": doc_id, "text": doc["text"], "title": doc["title"]}
                    for doc_id, doc in beir.corpus.items()
                )
        self.k = k
        self.models = ModelProvider({"large": large, "embeddings": "local:minilm"})
        self._small = RetrievalExpert()
        self.small_label = "retrieval expert (hybrid MiniLM + BM25, calibrated confidence)"
        self.large_policy = large_policy
        self.large_label = (
            f"hybrid search of the query and a passage {large} wrote for it"
            if large_policy == "expand"
            else f"{large} picks the best of the top {k} passages"
        )
        self._passages: dict[str, list[dict[str, Any]]] = {}
        self.notes = [
            f"{len(queries)} queries with judgements, {len(beir.corpus)} documents; test: "
            f"{len(self.test)} of the {len(test)} 'test'-half queries, calibration: "
            f"{len(self.calib)} 'dev'-half queries (seed {seed})",
            "quality is nDCG@10 (ir-measures, document level); 'correct' for the cascade's "
            "calibration is a relevant top passage",
        ]

    def calibration_examples(self) -> list[dict[str, str]]:
        return self.calib

    def test_examples(self) -> list[dict[str, str]]:
        return self.test

    def small(self) -> Expert:
        return self._small

    def large(self) -> Expert:
        return ExpandedRetrieval() if self.large_policy == "expand" else PassagePicker(self.k)

    def request(self, example: dict[str, str]) -> BaseModel:
        return RetrievalRequest(query=example["text"], k=10)

    def _top(self, example: dict[str, str]) -> list[dict[str, Any]]:
        if example["id"] not in self._passages:
            ctx = ExpertContext(task="retrieval", workspace=self.workspace, models=self.models)
            result = self._small.run(self.request(example), ctx)
            self._passages[example["id"]] = list(result.output or [])
        return self._passages[example["id"]]

    def context(self, example: dict[str, str]) -> ExpertContext:
        return ExpertContext(
            task="retrieval",
            workspace=self.workspace,
            models=self.models,
            options={"passages": self._top(example)[: self.k]},
        )

    def _ranking(self, result: ExpertResult, example: dict[str, str]) -> list[str]:
        """Document ids best first: the answer's passages, then the small expert's rest."""
        top = [p["source"] for p in (result.output or []) if isinstance(p, dict)]
        rest = [p["source"] for p in self._top(example)]
        return list(dict.fromkeys([*top, *rest]))

    def score(self, result: ExpertResult, example: dict[str, str]) -> float:
        ranked = self._ranking(result, example) if result.ok else []
        run = {doc: float(len(ranked) - i) for i, doc in enumerate(ranked)}
        qid = example["id"]
        return measure({qid: self.qrels[qid]}, {qid: run})[qid]["ndcg@10"]

    def correct(self, result: ExpertResult, example: dict[str, str]) -> bool:
        ranked = self._ranking(result, example) if result.ok else []
        return bool(ranked) and ranked[0] in self.qrels[example["id"]]

    def breakdown(self, answers: Sequence[ExpertResult], examples: Sequence[Any]) -> dict[str, Any]:
        hits = [self.correct(a, e) for a, e in zip(answers, examples, strict=True)]
        return {"precision_at_1": round(sum(hits) / max(1, len(hits)), 4)}
