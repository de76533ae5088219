"""What tracing costs a run: the same scripted two-step run (planner, two steps that each call
a chat model, synthesizer) with tracing off and on (SDK, in-memory exporter), interleaved in
one process so machine load hits both alike. Reports median seconds per run and the ratio.

    python benchmarks/tracing_overhead.py [--runs 20] [--json]
"""

from __future__ import annotations

import argparse
import json
import statistics
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from opentelemetry.sdk.trace import TracerProvider  # noqa: E402
from opentelemetry.sdk.trace.export import SimpleSpanProcessor  # noqa: E402
from opentelemetry.sdk.trace.export.in_memory_span_exporter import (  # noqa: E402
    InMemorySpanExporter,
)

from podium import ExpertContext, Podium, expert, tracing  # noqa: E402
from podium.workspace import Workspace  # noqa: E402
from tests.scripted import RuleChatModel, plan_json  # noqa: E402


@expert
def ask_small(text: str, ctx: ExpertContext) -> str:
    """Asks the small model about something."""
    assert ctx.models is not None
    return str(ctx.models.chat(role="small").invoke(f"About {text}?").content)


def _planner(messages: list[Any]) -> str:
    if str(messages[0].content).startswith("You are the planner"):
        return plan_json(("s1", "ask_small", "tides"), ("s2", "ask_small", "moons", ["s1"]))
    return "Tides and moons."


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--runs", type=int, default=20)
    ap.add_argument("--json", action="store_true")
    args = ap.parse_args()
    ws = Workspace.init(Path(tempfile.mkdtemp()) / "ws", guardians=False)
    podium = Podium(
        planner=RuleChatModel(rule=_planner),
        small=RuleChatModel(rule=lambda m: "ok"),
        experts=[ask_small],
        workspace=ws,
        builtins=False,
        plugins=False,
        warmup=False,
        semantic_check=False,
    )
    exporter = InMemorySpanExporter()
    provider = TracerProvider()
    provider.add_span_processor(SimpleSpanProcessor(exporter))
    podium.run("warm up")
    times: dict[str, list[float]] = {"off": [], "on": []}
    for _ in range(args.runs):
        for mode in ("off", "on"):
            tracing.configure(provider if mode == "on" else None)
            start = time.perf_counter()
            podium.run("Tell me about tides, then moons")
            times[mode].append(time.perf_counter() - start)
    tracing.configure(None)
    spans = len(exporter.get_finished_spans()) / args.runs
    off, on = statistics.median(times["off"]), statistics.median(times["on"])
    report = {
        "runs": args.runs,
        "median_s_off": round(off, 4),
        "median_s_on": round(on, 4),
        "ratio_on_off": round(on / off, 3),
        "spans_per_run": spans,
    }
    print(json.dumps(report, indent=2) if args.json else report)


if __name__ == "__main__":
    main()
