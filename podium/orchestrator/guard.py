"""``guard_in`` and ``guard_out``: run the guardians in parallel, each within its latency
budget, and apply their verdicts (block ends the run, transform rewrites the text, flag is
recorded)."""

from __future__ import annotations

import asyncio
import time
from typing import Any

from langgraph.runtime import Runtime

from podium.experts.nl2sql.intent import read_only_answer, write_request
from podium.guardians import Guardian, GuardInput, Stage, Verdict

from .context import PodiumContext
from .events import GuardVerdict, emit
from .state import RunState
from .synthesizer import CANT_CHANGE

# A guardian's model is loaded before its budget starts: loading is paid once per process and
# is not screening. A cold `podium run` under load spent the injection and PII guardians'
# whole 3 s budgets waiting for their models, so the task went on unscreened, only flagged.
LOAD_TIMEOUT_S = 300.0


async def run_guardians(guardians: list[Guardian], item: GuardInput, run_id: str) -> list[Verdict]:
    """Every guardian inspects the item concurrently; a slow or broken one only flags."""

    async def one(g: Guardian) -> Verdict:
        start = time.perf_counter()
        try:
            await _load(g)
        except TimeoutError:
            verdict = _flag(g, "timeout", f"its model did not load within {LOAD_TIMEOUT_S:g} s")
        except Exception as exc:
            verdict = _flag(g, "error", f"its model did not load: {type(exc).__name__}: {exc}")
        else:
            start = time.perf_counter()  # the budget, and the time reported, are screening's
            try:
                verdict = await asyncio.wait_for(g.inspect(item), timeout=g.budget_ms / 1000)
            except TimeoutError:
                verdict = _flag(g, "timeout", f"no verdict within its {g.budget_ms:g} ms budget")
            except Exception as exc:
                verdict = _flag(g, "error", f"{type(exc).__name__}: {exc}")
        ms = (time.perf_counter() - start) * 1000
        emit(
            GuardVerdict(
                run_id=run_id,
                stage=item.stage,
                guardian=verdict.guardian,
                action=verdict.action,
                category=verdict.category,
                score=verdict.score,
                reason=verdict.reason,
                ms=round(ms, 2),
            )
        )
        return verdict

    return list(await asyncio.gather(*(one(g) for g in guardians)))


async def _load(g: Guardian) -> None:
    """Load ``g``'s models (its optional ``warm()``, which returns at once when they are
    loaded) off the event loop."""
    warm = getattr(g, "warm", None)
    if callable(warm):
        await asyncio.wait_for(asyncio.to_thread(warm), timeout=LOAD_TIMEOUT_S)


def _flag(g: Guardian, category: str, reason: str) -> Verdict:
    return Verdict(guardian=g.name, action="flag", category=category, reason=reason)


async def screen_step(
    outcome: Any, ctx: PodiumContext, run_id: str
) -> tuple[Any, list[dict[str, Any]]]:
    """A finished step's evidence screened for injected instructions (when guards are on)."""
    if ctx.guards is None:
        return outcome, []
    outcome, verdicts = await ctx.guards.screen(outcome, run_id)
    for v in verdicts:
        emit(GuardVerdict(run_id=run_id, stage="step", **{k: v[k] for k in _EVENT_KEYS}, ms=0.0))
    return outcome, verdicts


_EVENT_KEYS = ("guardian", "action", "category", "score", "reason")


def _apply(text: str, verdicts: list[Verdict]) -> tuple[str, Verdict | None]:
    """The text after transforms, and the first blocking verdict if any."""
    blocking = next((v for v in verdicts if v.action == "block"), None)
    for v in verdicts:
        if v.action == "transform" and v.transformed is not None:
            text = v.transformed
    return text, blocking


def _record(verdicts: list[Verdict], stage: Stage) -> list[dict[str, Any]]:
    return [{**v.model_dump(mode="json"), "stage": stage} for v in verdicts]


def earlier_messages(state: RunState) -> list[str]:
    """The texts of every message before the task (a ``/v1`` request's system, developer,
    user, assistant and tool messages, or a conversation's history): all of them reach the
    planner and the synthesizer, so all of them can carry an instruction."""
    texts: list[str] = []
    for message in (state.get("messages") or [])[:-1]:
        content = getattr(message, "content", "")
        if isinstance(content, list):
            content = " ".join(str(p.get("text", "")) for p in content if isinstance(p, dict))
        text = str(content or "")
        if text.strip() and text not in texts:
            texts.append(text)
    return texts


async def _screen_earlier(
    guardians: list[Guardian], state: RunState
) -> tuple[list[Verdict], Verdict | None]:
    """The entry guardians on each earlier message; only a block counts (a message already
    sent cannot be rewritten), and it blocks the run like a blocked task."""
    verdicts: list[Verdict] = []
    for n, text in enumerate(earlier_messages(state), 1):
        item = GuardInput(text=text, stage="in", task=state["task"])
        found = await run_guardians(guardians, item, state["run_id"])
        verdicts += found
        blocking = next((v for v in found if v.action == "block"), None)
        if blocking is not None:
            return verdicts, blocking.model_copy(
                update={"reason": f"earlier message {n}: {blocking.reason}"}
            )
    return verdicts, None


async def guard_in_node(state: RunState, runtime: Runtime[PodiumContext]) -> dict[str, Any]:
    ctx = runtime.context
    guardians = ctx.guardians_for("in")
    item = GuardInput(text=state["task"], stage="in", task=state["task"])
    verdicts = await run_guardians(guardians, item, state["run_id"])
    text, blocking = _apply(state["task"], verdicts)
    if blocking is None and guardians:
        earlier, blocking = await _screen_earlier(guardians, state)
        verdicts += earlier
    if ctx.guards is not None:
        ctx.guards.record(state["run_id"], "in", verdicts)
    update: dict[str, Any] = {"verdicts": _record(verdicts, "in")}
    if blocking is not None:
        update.update(status="blocked", answer=_refusal(state["task"], blocking))
    elif text != state["task"]:
        update["task"] = text
    return update


def _refusal(task: str, blocking: Verdict) -> str:
    """What a user reads when the entry guard stops a task. A request to change data gets the
    answer the database expert gives it (Podium only reads; nothing was changed), whichever
    stops it first: the injection guardian blocked "Delete all customers from Germany." as
    fraud (0.63) and answered with its attack score, while "Delete the cancelled orders."
    reached the database expert and was told that Podium only reads."""
    action = write_request(task)
    if action is not None:
        return f"{CANT_CHANGE}: {read_only_answer(action)}"
    return f"Refused by {blocking.guardian} ({blocking.category}): {blocking.reason}"


async def guard_out_node(state: RunState, runtime: Runtime[PodiumContext]) -> dict[str, Any]:
    ctx = runtime.context
    answer = state.get("answer") or ""
    results = state.get("results", {})
    evidence = [e for o in results.values() for e in o.get("evidence", [])]
    item = GuardInput(
        text=answer, stage="out", task=state["task"], evidence=evidence, results=dict(results)
    )
    verdicts = await run_guardians(ctx.guardians_for("out"), item, state["run_id"])
    if ctx.guards is not None:
        ctx.guards.record(state["run_id"], "out", verdicts)
    text, blocking = _apply(answer, verdicts)
    update: dict[str, Any] = {"verdicts": _record(verdicts, "out")}
    if blocking is not None:
        update.update(
            status="blocked",
            answer=f"The answer was withheld by {blocking.guardian} ({blocking.category}): "
            f"{blocking.reason}",
        )
    elif text != answer:
        update["answer"] = text
    return update


def after_guard_in(state: RunState) -> str:
    return "end" if state.get("status") == "blocked" else "plan"
