"""A run that the durability test kills with SIGKILL in the middle of a parallel fan-out.

    python -m tests.reliability.crash_run WORKSPACE COUNTER RUN_ID start|resume

Four parallel steps: two finish at once, two take seconds. Every finished expert call is
appended to COUNTER, so the test can count calls across the crash.
"""

from __future__ import annotations

import json
import sys
import time
from pathlib import Path

from podium import Podium, expert
from podium.graphs import pipeline
from tests.scripted import RuleChatModel

COUNTER = Path(sys.argv[2]) if len(sys.argv) > 2 else Path("counter.txt")


@expert
def timed_job(text: str) -> str:
    """Sleeps the number of seconds at the end of its input, then reports it."""
    time.sleep(float(text.rsplit(" ", 1)[-1]))
    with COUNTER.open("a") as f:
        f.write(text + "\n")
    return f"finished {text}"


def answer(messages: list) -> str:
    return "Results: " + str(messages[-1].content).split("Results:", 1)[-1].strip()


def build(workspace: str) -> Podium:
    wf = pipeline(
        *[
            ("timed_job", f"job {name} {secs}")
            for name, secs in (("a", 0), ("b", 0), ("c", 4), ("d", 4))
        ],
        parallel=True,
    )
    return Podium(
        planner=RuleChatModel(rule=answer),
        workflow=wf,
        experts=[timed_job],
        workspace=workspace,
        builtins=False,
        plugins=False,
        warmup=False,
    )


if __name__ == "__main__":
    ws, _, run_id, mode = sys.argv[1:5]
    podium = build(ws)
    result = podium.resume(run_id) if mode == "resume" else podium.run("four jobs", run_id=run_id)
    print(json.dumps({"status": result.status, "answer": result.answer}))
