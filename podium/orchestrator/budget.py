"""Per-run budgets: steps, model tokens, wall time, large-model calls.

``dispatch`` checks the budget between supersteps: once one is spent, no new step starts,
the steps not yet run are recorded as skipped with the reason, and the run ends with what it
has (status ``partial``). The runner adds a hard wall-clock stop for a step that overruns.
"""

from __future__ import annotations

import time

from podium.workspace import LimitsSpec

from .state import RunState, total_cost


def budget_problem(state: RunState, limits: LimitsSpec) -> str | None:
    """Which budget this run has spent, in words, or None."""
    spent = total_cost(state.get("ledger", []))
    tokens = spent["input_tokens"] + spent["output_tokens"]
    if limits.max_tokens is not None and tokens >= limits.max_tokens:
        return f"the token budget ({tokens:,} of {limits.max_tokens:,} model tokens) is spent"
    if limits.max_large_calls is not None and spent["large_calls"] >= limits.max_large_calls:
        return (
            f"the large-model budget ({spent['large_calls']} of "
            f"{limits.max_large_calls} calls) is spent"
        )
    started = state.get("started_at")
    if started is not None and time.time() - started >= limits.max_seconds:
        return f"the time budget ({limits.max_seconds:g} s) is spent"
    return None
