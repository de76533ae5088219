"""Experts the scale tests send to Ray actors (importable by module path in the workers)."""

from __future__ import annotations

import os
import threading
import time

from podium import Expert, ExpertContext, ExpertResult
from podium.errors import SQLRefused
from podium.experts.base import TextRequest


class SlowEcho(Expert):
    """Waits, then says which process answered (stands in for a model call that takes time)."""

    name = "slow_echo"
    description = "Echo the text after a pause, with the process id that served it."

    def __init__(self, seconds: float = 0.5) -> None:
        self.seconds = seconds
        self._lock = threading.Lock()  # experts hold locks; the executor recreates them

    def run(self, request: TextRequest, ctx: ExpertContext) -> ExpertResult:
        ctx.emit({"kind": "waiting", "seconds": self.seconds})
        time.sleep(self.seconds)
        with self._lock:
            return ExpertResult(
                output={"text": request.text.upper(), "pid": os.getpid()},
                confidence=0.9,
                details={"step": ctx.step_id, "deps": sorted(ctx.dependencies)},
            )


class Refuser(Expert):
    """Always refuses, with a hint."""

    name = "refuser"
    description = "Refuses every request."

    def run(self, request: TextRequest, ctx: ExpertContext) -> ExpertResult:
        raise SQLRefused(f"refused {request.text!r}", hint="ask for a SELECT")
