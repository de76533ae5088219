"""The spine's end-to-end test with PostgreSQL + Ray configured in podium.toml, and the real
embedded experts giving the same results on Ray actors as in this process."""

from __future__ import annotations

import asyncio
import shutil

import pytest

from podium import Podium
from podium.executors import ExecutorSpec
from podium.experts.nl2sql import NL2SQLExpert
from podium.experts.retrieval import RetrievalExpert
from podium.memory.store import RunStore
from podium.models.provider import ModelProvider
from podium.models.usage import metered
from podium.workspace import Workspace

from ..test_e2e import COMPOUND
from ..test_e2e import (
    test_a_compound_question_runs_a_database_step_and_a_document_step as spine_compound_checks,
)

pytestmark = pytest.mark.slow


def _configured(demo: Workspace, tmp_path, store: str, executor: str) -> Workspace:
    """A copy of the demo workspace whose podium.toml names the store and the executor."""
    root = tmp_path / "ws"
    shutil.copytree(demo.root, root, ignore=shutil.ignore_patterns(".podium"))
    ws = Workspace.load(root)
    if store != "sqlite":
        ws.config.store_url = store
    ws.config.executor = ExecutorSpec(kind=executor, replicas=1)  # type: ignore[arg-type]
    ws.save()
    return Workspace.load(root)


@pytest.mark.postgres
@pytest.mark.parametrize("executor", ["ray"])
def test_the_spine_e2e_passes_with_postgresql_and_ray_configured(
    demo, tmp_path, pg_url, ray_cluster, executor
):
    ws = _configured(demo, tmp_path, pg_url, executor)
    podium = Podium(workspace=ws)
    assert type(podium.executor).__name__ == "RayExecutor"
    assert podium.store is not None and podium.store.engine.dialect.name == "postgresql"
    try:
        try:
            spine_compound_checks(podium)  # the spine's own assertions, unchanged
        except AssertionError as exc:  # say which step failed and why
            last = RunStore(pg_url).list_runs(limit=1)[0]
            steps = RunStore(pg_url).get_run(last.run_id)["steps"]
            errors = {s["expert"]: (s["status"], s["error"]) for s in steps}
            raise AssertionError(f"{exc}\nrun {last.run_id} {last.status}: {errors}") from exc
        runs = RunStore(pg_url).list_runs()
        assert runs[0]["status"] == "done" and runs[0]["task"] == COMPOUND
        served = {
            e.name: sum(s["calls"] for s in podium.executor.stats(e)) for e in podium.registry
        }
        assert served["nl2sql"] >= 1 and served["retrieval"] >= 1  # the steps ran on actors
    finally:
        podium.close()


def test_real_experts_give_the_same_results_on_ray_actors_as_in_process(demo, ray_executor):
    from podium.experts.base import ExpertContext

    models = ModelProvider({"planner": "local:smollm2", "embeddings": "local:minilm"})
    retrieval = RetrievalExpert()  # one object: its second call reuses the actor's models
    cases = [
        (retrieval, "What is the return policy for damaged items?"),
        (retrieval, "How long does shipping take?"),
        (NL2SQLExpert(), "How many orders were placed in 2024?"),
    ]
    executor = ray_executor(replicas=1)

    async def both(expert, text):
        request = expert.parse_input(text)
        with metered() as (meter, _):
            here = await expert.arun(request, ExpertContext(workspace=demo, models=models))
        there = await executor.arun(expert, request, ExpertContext(workspace=demo, models=models))
        return here, there, meter.input_tokens

    for expert, text in cases:
        here, there, tokens_here = asyncio.run(both(expert, text))
        assert here.ok and there.ok, (here.error, there.error)
        assert there.output == here.output, text
        assert there.confidence == pytest.approx(here.confidence, abs=1e-4)
        assert [e.source for e in there.evidence] == [e.source for e in here.evidence]
        if isinstance(expert, NL2SQLExpert):
            assert there.cost.input_tokens == tokens_here > 0  # metered on the actor
    [replica] = executor.stats(retrieval)
    assert replica["calls"] == 2 and replica["providers"] == 1  # models loaded once, reused
