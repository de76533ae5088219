"""Orchestration overhead, parallel fan-out, and the local planner's speed and cold start.

    python benchmarks/overhead.py [--json] [--only per_step] [--repeats N]

Figures are ratios against a baseline measured in the same process (machines here are noisy):

1. per-step overhead: run time slope (ms per extra step) of Podium's graph with instant experts
   vs the same Send fan-out written directly in LangGraph. Goal <= 1.2x. Each system's
   1-step and 64-step runs are timed in interleaved rounds, by the wall clock and by the
   process's CPU time (all threads: the run store's writer and the SQLite checkpointer's
   thread count too). CPU time is the steadier figure on a loaded machine, where the wall
   clock also measures other processes' turns. Podium does its full work (default graph,
   events, ledger, synthesis, and checkpointed also its run store and learning harvest); the
   goal's baseline is the same Send fan-out to an empty LangGraph node (checkpointed: the same
   SQLite saver), unchanged. ``--repeats N`` measures the per-step figures N times and
   reports each ratio's min and median.
   Beside the goal's ratio (against an empty LangGraph node) the same slope is reported
   against LangGraph steps that do the least a step must do for its user: stream a started
   and a finished event to the caller and write a result and a ledger entry into the state
   (``*_vs_reporting_*``). That second figure is extra information, not the goal's figure.
2. fan-out: 8 independent experts that each wait 200 ms vs 1 such expert. Goal <= 1.3x.
   Measured for async experts and for sync experts (which run on Podium's sized pool).
3. the embedded planner: decode tokens/s, model load time, and cold start pieces.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import operator
import os
import statistics
import subprocess
import sys
import tempfile
import time
import uuid
from pathlib import Path
from typing import Annotated, Any, TypedDict

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "tests"))

from langgraph.checkpoint.sqlite.aio import AsyncSqliteSaver
from langgraph.config import get_stream_writer
from langgraph.graph import END, START, StateGraph
from langgraph.types import Send
from scripted import RuleChatModel

from podium import Podium, expert
from podium.workspace import LimitsSpec, Workspace


def _plan_for(n: int, name: str) -> str:
    return json.dumps(
        {
            "steps": [
                {"id": f"s{i}", "expert": name, "input": f"job number {i}", "depends_on": []}
                for i in range(1, n + 1)
            ]
        }
    )


def _podium(ws: Workspace, n: int, experts: list[Any], name: str, checkpoint: bool) -> Podium:
    def reply(messages: list[Any]) -> str:
        if str(messages[0].content).startswith("You are the planner"):
            return _plan_for(n, name)
        # An answer that reflects every step, so synthesis takes its normal (one-call) path.
        return "Done: " + ", ".join(f"job number {i}" for i in range(1, n + 1))

    return Podium(
        planner=RuleChatModel(rule=reply),
        experts=experts,
        workspace=ws,
        builtins=False,
        plugins=False,
        warmup=False,
        semantic_check=False,
        checkpoint=checkpoint,
        store=checkpoint,
        limits=LimitsSpec(max_steps=64, max_task_chars=1000),
    )


def _merge(left: dict[str, Any] | None, right: dict[str, Any] | None) -> dict[str, Any]:
    return {**(left or {}), **(right or {})}


class _Raw(TypedDict, total=False):
    n: int
    out: Annotated[list[str], operator.add]
    results: Annotated[dict[str, Any], _merge]
    ledger: Annotated[list[dict[str, Any]], operator.add]


def _raw_graph(checkpointer: Any = None, *, reporting: bool = False) -> Any:
    """The fan-out in plain LangGraph. ``reporting``: each step also does the least a step
    must do for its user - stream a started and a finished event, and write its result and a
    ledger entry into the state - so the gap to Podium is its own book-keeping only."""

    async def fan(state: _Raw) -> dict[str, Any]:
        return {}

    def sends(state: _Raw) -> list[Send]:
        return [Send("work", {"i": i}) for i in range(state["n"])]

    async def work(payload: dict[str, Any]) -> dict[str, Any]:
        return {"out": [f"done {payload['i']}"]}

    async def work_reporting(payload: dict[str, Any]) -> dict[str, Any]:
        sid, text = f"s{payload['i']}", f"job number {payload['i']}"
        write = get_stream_writer()
        write({"type": "step_started", "ts": time.time(), "step_id": sid, "input": text})
        start = time.perf_counter()
        ms = round((time.perf_counter() - start) * 1000, 2)
        write({"type": "step_finished", "ts": time.time(), "step_id": sid, "output": text})
        return {
            "results": {sid: {"step_id": sid, "status": "ok", "output": text, "ms": ms}},
            "ledger": [{"node": "step", "step_id": sid, "ms": ms}],
        }

    g = StateGraph(_Raw)
    g.add_node("fan", fan)
    g.add_node("work", work_reporting if reporting else work)
    g.add_edge(START, "fan")
    g.add_conditional_edges("fan", sends, ["work"])
    g.add_edge("work", END)
    return g.compile(checkpointer=checkpointer)


def _median_ms(fn: Any, repeat: int) -> float:
    times = []
    for _ in range(repeat):
        start = time.perf_counter()
        fn()
        times.append((time.perf_counter() - start) * 1000)
    return statistics.median(times)


def _timed_ms(fn: Any) -> tuple[float, float]:
    """One call's wall-clock and process CPU milliseconds."""
    wall, cpu = time.perf_counter(), time.process_time()
    fn()
    return (time.perf_counter() - wall) * 1000, (time.process_time() - cpu) * 1000


def per_step_overhead(ws: Workspace, rounds: int = 9) -> dict[str, Any]:
    """Slope of run time over steps (1 vs 64 steps), interleaving the systems round by round
    so that machine noise hits them alike."""

    @expert
    async def instant(text: str) -> str:
        """Returns at once."""
        return text

    small, large = 1, 64
    raw, reporting = _raw_graph(), _raw_graph(reporting=True)
    db = str(ws.data_dir / "raw-checkpoints.sqlite")

    async def raw_checkpointed(n: int) -> None:
        async with AsyncSqliteSaver.from_conn_string(db) as saver:
            graph = _raw_graph(saver)
            config = {"configurable": {"thread_id": uuid.uuid4().hex}}
            await graph.ainvoke({"n": n}, config)

    async def raw_reporting(n: int, checkpointed: bool) -> list[Any]:
        """Stream the run as a caller would, keeping every event."""
        events: list[Any] = []
        async with contextlib.AsyncExitStack() as stack:
            saver = None
            if checkpointed:
                saver = await stack.enter_async_context(AsyncSqliteSaver.from_conn_string(db))
            graph = _raw_graph(saver, reporting=True) if saver else reporting
            config = {"configurable": {"thread_id": uuid.uuid4().hex}}
            async for mode, chunk in graph.astream(
                {"n": n}, config, stream_mode=["custom", "values"]
            ):
                if mode == "custom":
                    events.append(chunk)
        return events

    systems: dict[str, dict[int, Any]] = {
        "raw": {n: (lambda n=n: asyncio.run(raw.ainvoke({"n": n}))) for n in (small, large)},
        "raw_checkpointed": {
            n: (lambda n=n: asyncio.run(raw_checkpointed(n))) for n in (small, large)
        },
        "raw_reporting": {
            n: (lambda n=n: asyncio.run(raw_reporting(n, False))) for n in (small, large)
        },
        "raw_reporting_checkpointed": {
            n: (lambda n=n: asyncio.run(raw_reporting(n, True))) for n in (small, large)
        },
    }
    for checkpoint in (False, True):
        key = "podium_checkpointed" if checkpoint else "podium"
        pods = {n: _podium(ws, n, [instant], "instant", checkpoint) for n in (small, large)}
        systems[key] = {n: (lambda n=n, pods=pods: pods[n].run("Do the jobs")) for n in pods}
    for runs in systems.values():  # warm: first compile, first checkpoint tables, first run
        for fn in runs.values():
            fn()
    samples: dict[str, dict[int, list[tuple[float, float]]]] = {
        k: {small: [], large: []} for k in systems
    }
    for _ in range(rounds):
        for key, runs in systems.items():
            for n, fn in runs.items():
                samples[key][n].append(_timed_ms(fn))
    out: dict[str, Any] = {}
    for key in systems:
        for i, suffix in ((0, ""), (1, "_cpu")):
            ms = {n: statistics.median(v[i] for v in runs) for n, runs in samples[key].items()}
            out[f"{key}{suffix}_ms"] = {n: round(v, 2) for n, v in ms.items()}
            out[f"{key}{suffix}_ms_per_step"] = round((ms[large] - ms[small]) / (large - small), 3)
    for suffix in ("", "_cpu"):
        out[f"podium_ratio_per_step{suffix}"] = round(
            out[f"podium{suffix}_ms_per_step"] / out[f"raw{suffix}_ms_per_step"], 2
        )
        out[f"podium_checkpointed_ratio_per_step{suffix}"] = round(
            out[f"podium_checkpointed{suffix}_ms_per_step"]
            / out[f"raw_checkpointed{suffix}_ms_per_step"],
            2,
        )
        # Beside the goal's ratio, not instead of it: Podium against LangGraph doing the least
        # a step must do for its user (two streamed events, a result and a ledger entry).
        out[f"podium_vs_reporting_ratio_per_step{suffix}"] = round(
            out[f"podium{suffix}_ms_per_step"] / out[f"raw_reporting{suffix}_ms_per_step"], 2
        )
        out[f"podium_checkpointed_vs_reporting_ratio_per_step{suffix}"] = round(
            out[f"podium_checkpointed{suffix}_ms_per_step"]
            / out[f"raw_reporting_checkpointed{suffix}_ms_per_step"],
            2,
        )
    return out


RATIOS = (
    "podium_ratio_per_step",
    "podium_checkpointed_ratio_per_step",
    "podium_ratio_per_step_cpu",
    "podium_checkpointed_ratio_per_step_cpu",
    "podium_vs_reporting_ratio_per_step_cpu",
    "podium_checkpointed_vs_reporting_ratio_per_step_cpu",
)


def per_step_repeated(ws: Workspace, repeats: int) -> dict[str, Any]:
    """``per_step_overhead`` ``repeats`` times: every run's figures, and each ratio's min and
    median over the runs."""
    runs = [per_step_overhead(ws) for _ in range(repeats)]
    summary = {
        key: {
            "min": min(r[key] for r in runs),
            "median": round(statistics.median(r[key] for r in runs), 2),
        }
        for key in RATIOS
    }
    return {"runs": runs, "ratios": summary, "load_average": list(os.getloadavg())}


def fan_out(ws: Workspace, repeat: int = 3) -> dict[str, Any]:
    @expert
    async def wait_async(text: str) -> str:
        """Waits 200 ms without blocking."""
        await asyncio.sleep(0.2)
        return text

    @expert
    def wait_sync(text: str) -> str:
        """Blocks its thread for 200 ms."""
        time.sleep(0.2)
        return text

    out: dict[str, Any] = {}
    for name, exp in (("async", wait_async), ("sync", wait_sync)):
        one = _podium(ws, 1, [exp], exp.name, False)
        eight = _podium(ws, 8, [exp], exp.name, False)
        t1 = _median_ms(lambda p=one: p.run("Wait once"), repeat)
        t8 = _median_ms(lambda p=eight: p.run("Wait eight times"), repeat)
        out[name] = {"one_ms": round(t1, 1), "eight_ms": round(t8, 1), "ratio": round(t8 / t1, 2)}
    return out


def local_planner() -> dict[str, Any]:
    from podium.models.local_llama import load_gguf, smollm2_path

    start = time.perf_counter()
    model = load_gguf(str(smollm2_path()))
    load_s = time.perf_counter() - start
    prompt = [{"role": "user", "content": "Write a short paragraph about mountains."}]
    start = time.perf_counter()
    with model.lock:
        out = model.llama.create_chat_completion(messages=prompt, max_tokens=128, temperature=0)
    decode_s = time.perf_counter() - start
    tokens = out["usage"]["completion_tokens"]
    return {
        "model_load_s": round(load_s, 3),
        "completion_tokens": tokens,
        "tokens_per_s": round(tokens / decode_s, 1),
    }


def cold_start(tmp: Path) -> dict[str, Any]:
    """Process start to the end of import, and to a loaded encoder + chat model."""
    code = (
        "import time; t=time.perf_counter(); import podium; a=time.perf_counter();"
        "from podium.models.embeddings import load_embedder; load_embedder();"
        "b=time.perf_counter();"
        "from podium.models.provider import create_chat_model; create_chat_model('local:smollm2');"
        "c=time.perf_counter(); print(a-t, b-a, c-b)"
    )
    start = time.perf_counter()
    proc = subprocess.run(
        [sys.executable, "-c", code],
        capture_output=True,
        text=True,
        timeout=300,
        env={"PODIUM_HOME": str(tmp), "PATH": "/usr/bin:/bin"},
    )
    total = time.perf_counter() - start
    import_s, encoder_s, chat_s = (float(x) for x in proc.stdout.split())
    return {
        "process_total_s": round(total, 2),
        "import_podium_s": round(import_s, 2),
        "load_encoder_s": round(encoder_s, 2),
        "load_chat_model_s": round(chat_s, 2),
    }


def _print_per_step(ps: dict[str, Any]) -> None:
    for suffix, clock in (("", "wall"), ("_cpu", "CPU")):
        print(
            f"per-step overhead ({clock}): raw LangGraph {ps[f'raw{suffix}_ms_per_step']} ms/step, "
            f"Podium {ps[f'podium{suffix}_ms_per_step']} ms/step "
            f"({ps[f'podium_ratio_per_step{suffix}']}x), "
            f"with SQLite checkpoints {ps[f'podium_checkpointed{suffix}_ms_per_step']} vs "
            f"{ps[f'raw_checkpointed{suffix}_ms_per_step']} ms/step "
            f"({ps[f'podium_checkpointed_ratio_per_step{suffix}']}x)"
        )
        print(
            f"  against LangGraph steps that stream two events and write a result and a ledger "
            f"entry ({clock}): {ps[f'raw_reporting{suffix}_ms_per_step']} ms/step "
            f"({ps[f'podium_vs_reporting_ratio_per_step{suffix}']}x), checkpointed "
            f"{ps[f'raw_reporting_checkpointed{suffix}_ms_per_step']} ms/step "
            f"({ps[f'podium_checkpointed_vs_reporting_ratio_per_step{suffix}']}x)"
        )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--json", action="store_true")
    parser.add_argument("--only", choices=["per_step"], help="measure only this part")
    parser.add_argument("--repeats", type=int, default=1, help="per-step measurements (>= 1)")
    args = parser.parse_args()
    if args.only == "per_step" or args.repeats > 1:
        with tempfile.TemporaryDirectory() as tmp:
            ws = Workspace.init(Path(tmp) / "ws", guardians=False)
            repeated = per_step_repeated(ws, max(1, args.repeats))
        if args.json:
            print(json.dumps(repeated, indent=2))
            return
        for run in repeated["runs"]:
            _print_per_step(run)
        for key, got in repeated["ratios"].items():
            print(f"{key}: min {got['min']}x, median {got['median']}x")
        print(f"load average: {repeated['load_average']}")
        return
    with tempfile.TemporaryDirectory() as tmp:
        ws = Workspace.init(Path(tmp) / "ws", guardians=False)
        figures = {
            "per_step": per_step_overhead(ws),
            "fan_out_200ms": fan_out(ws),
            "local_planner": local_planner(),
            "cold_start": cold_start(Path(tmp)),
        }
    if args.json:
        print(json.dumps(figures, indent=2))
        return
    fo = figures["fan_out_200ms"]
    _print_per_step(figures["per_step"])
    for kind, f in fo.items():
        print(
            f"8 x 200 ms {kind} experts vs 1: {f['eight_ms']} vs {f['one_ms']} ms ({f['ratio']}x)"
        )
    print(f"local planner: {figures['local_planner']}")
    print(f"cold start: {figures['cold_start']}")


if __name__ == "__main__":
    main()
