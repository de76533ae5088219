"""Expert throughput on Ray actors (1, 2, 4 replicas) against the same expert in-process.

    python benchmarks/ray_throughput.py [--requests 48] [--experts retrieval,nl2sql,wait] [--json]

Each expert answers the same batch of requests, all submitted at once (as a wide plan or many
concurrent runs would). In-process, sync experts run on Podium's 32-thread expert pool, so the
baseline is already concurrent; on Ray, each replica is an actor that serves one call at a time
with its own copy of the models. Models load before timing starts (one warm-up call per
replica). Ray runs locally with num_cpus=2 and no dashboard, and is shut down at the end.

Experts:
- retrieval: the built-in retrieval expert on the demo documents (MiniLM encoder + FAISS), CPU.
- nl2sql: the built-in NL2SQL expert on the demo shop database (SmolLM2-135M on llama.cpp), CPU.
- wait: an expert that waits 200 ms (a stand-in for a call to a remote model server).
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

from podium.experts.base import Expert, ExpertContext, ExpertResult, TextRequest
from podium.models.provider import ModelProvider
from podium.workspace import demo_workspace

QUESTIONS = {
    "retrieval": [
        "What is the return policy for damaged items?",
        "How long does standard shipping take?",
        "What does the warranty cover?",
        "How do I earn loyalty points?",
        "Where is the company based?",
        "Can I return a gift without a receipt?",
        "Do you ship internationally?",
        "How long is the warranty on jackets?",
    ],
    "nl2sql": [
        "How many orders were placed in 2024?",
        "How many customers are there?",
        "What is the most expensive product?",
        "How many products are in the catalogue?",
    ],
    "wait": [f"job {i}" for i in range(8)],
}


class Wait(Expert):
    """Waits 200 ms, like a call to a model served elsewhere."""

    name = "wait"
    description = "Waits 200 ms."

    def run(self, request: TextRequest, ctx: ExpertContext) -> ExpertResult:
        time.sleep(0.2)
        return ExpertResult(output=request.text, confidence=1.0)


def make_expert(name: str) -> Expert:
    if name == "retrieval":
        from podium.experts.retrieval import RetrievalExpert

        return RetrievalExpert()
    if name == "nl2sql":
        from podium.experts.nl2sql import NL2SQLExpert

        return NL2SQLExpert()
    return Wait()


async def _batch(call: Any, expert: Expert, texts: list[str], ctx: Any) -> float:
    start = time.perf_counter()
    results = await asyncio.gather(*(call(expert, expert.parse_input(t), ctx()) for t in texts))
    wall = time.perf_counter() - start
    failed = [r.error for r in results if not r.ok]
    if failed:
        raise SystemExit(f"{expert.name}: {len(failed)} calls failed, e.g. {failed[0]}")
    return wall


def measure(name: str, n: int, replicas: list[int]) -> dict[str, Any]:
    from podium.executors import RayExecutor

    workspace = demo_workspace()
    models = ModelProvider({"planner": "local:smollm2", "embeddings": "local:minilm"})
    texts = [QUESTIONS[name][i % len(QUESTIONS[name])] for i in range(n)]

    def ctx() -> ExpertContext:
        return ExpertContext(workspace=workspace, models=models)

    async def here(expert: Expert, request: Any, c: ExpertContext) -> ExpertResult:
        return await expert.arun(request, c)

    expert = make_expert(name)
    asyncio.run(_batch(here, expert, texts[:2], ctx))  # load the models
    row: dict[str, Any] = {"expert": name, "requests": n}
    row["inprocess_s"] = asyncio.run(_batch(here, expert, texts, ctx))
    for k in replicas:
        executor = RayExecutor(replicas=k)
        expert = make_expert(name)
        asyncio.run(_batch(executor.arun, expert, texts[:k] * 2, ctx))  # each replica loads
        row[f"ray{k}_s"] = asyncio.run(_batch(executor.arun, expert, texts, ctx))
        executor.close()
    base = row["inprocess_s"]
    row["inprocess_rps"] = n / base
    for k in replicas:
        row[f"ray{k}_rps"] = n / row[f"ray{k}_s"]
        row[f"ray{k}_ratio"] = base / row[f"ray{k}_s"]
    return row


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--requests", type=int, default=48)
    parser.add_argument("--experts", default="wait,retrieval,nl2sql")
    parser.add_argument("--replicas", default="1,2,4")
    parser.add_argument("--json", action="store_true")
    args = parser.parse_args()

    import ray

    os.environ.setdefault("PODIUM_HOME", tempfile.mkdtemp(prefix="podium-bench-"))
    replicas = [int(r) for r in args.replicas.split(",")]
    ray.init(num_cpus=2, include_dashboard=False, log_to_driver=False, configure_logging=False)
    try:
        rows = []
        for name in args.experts.split(","):
            n = args.requests if name != "nl2sql" else max(4, args.requests // 6)
            rows.append(measure(name, n, replicas))
            print(f"done: {name}", file=sys.stderr)
    finally:
        ray.shutdown()
    if args.json:
        print(json.dumps(rows, indent=2))
        return
    head = ["expert", "requests", "in-process req/s"] + [
        f"Ray ×{k} req/s (ratio)" for k in replicas
    ]
    print("| " + " | ".join(head) + " |")
    print("|" + "---|" * len(head))
    for r in rows:
        cells = [r["expert"], str(r["requests"]), f"{r['inprocess_rps']:.2f}"]
        cells += [f"{r[f'ray{k}_rps']:.2f} ({r[f'ray{k}_ratio']:.2f}×)" for k in replicas]
        print("| " + " | ".join(cells) + " |")
    print(f"\nmachine: {os.cpu_count()} CPUs; Python {sys.version.split()[0]}")


if __name__ == "__main__":
    sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
    main()
