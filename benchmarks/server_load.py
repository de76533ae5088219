"""Load on the server: 50 concurrent chat sessions over loopback, bounded, checked for cross-talk.

    python benchmarks/server_load.py [--sessions 50] [--json]

The server runs `podium serve`'s app in its own process (uvicorn, 127.0.0.1, a free port) over
a fresh workspace, with a scripted planner and an expert that waits 200 ms (the figures are
the server's and the orchestration's, not a model's). Each session asks its own compound
question naming its own item ("the colour of item-17 and the size of item-17") and reads the
answer: half through the run API's SSE stream, half through the OpenAI-compatible streaming
endpoint. A session fails if its answer is missing, comes with an error, or names any other
session's item (cross-talk). Baseline in the same process: the same session run alone, 5
times. Everything stops by itself (a 300 s bound on the whole load).
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import re
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import httpx

ROOT = Path(__file__).resolve().parents[1]


# -- the server process ---------------------------------------------------------------------


def serve(port: int, workspace: str) -> None:
    sys.path.insert(0, str(ROOT / "tests"))
    import uvicorn
    from scripted import RuleChatModel

    from podium import Podium, expert
    from podium.server import create_app
    from podium.workspace import Workspace

    @expert
    async def lookup(text: str) -> str:
        """Looks up a fact about an item."""
        await asyncio.sleep(0.2)
        return f"fact about {text}"

    def rule(messages: list[Any]) -> str:
        if str(messages[0].content).startswith("You are the planner"):
            task = str(next(m for m in reversed(messages) if m.type == "human").content)
            clauses = [c.strip(" ?") for c in task.split(" and ")]
            steps = [
                {"id": f"s{i}", "expert": "lookup", "input": c, "depends_on": []}
                for i, c in enumerate(clauses, 1)
            ]
            return json.dumps({"steps": steps})
        return "Summary: " + str(messages[-1].content).split("Results:", 1)[-1].strip()

    podium = Podium(
        planner=RuleChatModel(rule=rule),
        experts=[lookup],
        workspace=Workspace.load(workspace),
        builtins=False,
        plugins=False,
        warmup=False,
        semantic_check=False,
    )
    uvicorn.run(create_app(podium), host="127.0.0.1", port=port, log_level="warning")


# -- the sessions ---------------------------------------------------------------------------


def question(i: int) -> str:
    return f"the colour of item-{i} and the size of item-{i}"


async def session_sse(client: httpx.AsyncClient, i: int) -> str:
    res = await client.post("/api/runs", json={"message": question(i)})
    res.raise_for_status()
    run_id = res.json()["run_id"]
    last: dict[str, Any] = {}
    async with client.stream("GET", f"/api/runs/{run_id}/events") as stream:
        async for line in stream.aiter_lines():
            if line.startswith("data:"):
                last = json.loads(line[5:])
    if last.get("type") != "run_finished" or last.get("status") != "done":
        raise RuntimeError(f"run {run_id} ended with {last}")
    return last["answer"]


async def session_openai(client: httpx.AsyncClient, i: int) -> str:
    body = {
        "model": "podium",
        "stream": True,
        "messages": [{"role": "user", "content": question(i)}],
    }
    text = ""
    async with client.stream("POST", "/v1/chat/completions", json=body) as stream:
        stream.raise_for_status()
        async for line in stream.aiter_lines():
            if not line.startswith("data:") or line.strip() == "data: [DONE]":
                continue
            chunk = json.loads(line[5:])
            if "error" in chunk:
                raise RuntimeError(chunk["error"]["message"])
            text += chunk["choices"][0]["delta"].get("content") or ""
    return text


async def one(client: httpx.AsyncClient, i: int) -> dict[str, Any]:
    kind = session_sse if i % 2 == 0 else session_openai
    t0 = time.perf_counter()
    try:
        answer = await kind(client, i)
        error = None
    except Exception as exc:
        answer, error = "", f"{type(exc).__name__}: {exc}"
    seconds = time.perf_counter() - t0
    items = set(re.findall(r"item-(\d+)", answer))
    if error is None and items != {str(i)}:
        error = f"cross-talk or missing answer: session {i} got items {sorted(items)}"
    return {"session": i, "api": kind.__name__, "seconds": seconds, "error": error}


def pct(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(q * (len(ordered) - 1)))]


async def load(url: str, sessions: int) -> dict[str, Any]:
    limits = httpx.Limits(max_connections=sessions + 10, max_keepalive_connections=sessions + 10)
    async with httpx.AsyncClient(base_url=url, timeout=120, limits=limits) as client:
        await one(client, 10_000)  # warm-up (imports, first checkpoint)
        alone = [await one(client, 20_000 + k) for k in range(5)]
        async with asyncio.timeout(300):
            t0 = time.perf_counter()
            results = await asyncio.gather(*(one(client, i) for i in range(sessions)))
            wall = time.perf_counter() - t0
    base = statistics.median(r["seconds"] for r in alone)
    ok = [r["seconds"] for r in results if r["error"] is None]
    errors = [r for r in results if r["error"]]
    return {
        "sessions": sessions,
        "errors": len(errors),
        "error_samples": [r["error"] for r in errors[:5]],
        "alone_p50_s": round(base, 3),
        "p50_s": round(pct(ok, 0.5), 3) if ok else None,
        "p95_s": round(pct(ok, 0.95), 3) if ok else None,
        "max_s": round(max(ok), 3) if ok else None,
        "p50_vs_alone": round(pct(ok, 0.5) / base, 2) if ok else None,
        "wall_s": round(wall, 2),
        "sessions_per_s": round(sessions / wall, 2),
        "alone_errors": [r["error"] for r in alone if r["error"]],
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--sessions", type=int, default=50)
    parser.add_argument("--json", action="store_true")
    parser.add_argument("--serve", nargs=2, metavar=("PORT", "WORKSPACE"), help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.serve:
        serve(int(args.serve[0]), args.serve[1])
        return

    from podium.server.background import free_port
    from podium.workspace import Workspace

    with tempfile.TemporaryDirectory() as tmp:
        ws = Workspace.init(Path(tmp) / "ws", guardians=False)
        port = free_port()
        env = {**os.environ, "PODIUM_HOME": str(Path(tmp) / "home")}
        server = subprocess.Popen(
            [sys.executable, __file__, "--serve", str(port), str(ws.root)], env=env
        )
        try:
            url = f"http://127.0.0.1:{port}"
            deadline = time.monotonic() + 120
            while True:
                try:
                    httpx.get(f"{url}/api/info", timeout=2).raise_for_status()
                    break
                except httpx.HTTPError:
                    if server.poll() is not None or time.monotonic() > deadline:
                        raise SystemExit("the server did not start") from None
                    time.sleep(0.3)
            report = asyncio.run(load(url, args.sessions))
        finally:
            server.terminate()
            server.wait(30)
    if args.json:
        print(json.dumps(report, indent=2))
        return
    print(
        f"{report['sessions']} concurrent sessions: {report['errors']} errors; "
        f"p50 {report['p50_s']} s, p95 {report['p95_s']} s, max {report['max_s']} s; "
        f"alone {report['alone_p50_s']} s (p50 = {report['p50_vs_alone']}x alone); "
        f"{report['sessions_per_s']} sessions/s over {report['wall_s']} s"
    )
    for sample in report["error_samples"]:
        print("  error:", sample)


if __name__ == "__main__":
    main()
