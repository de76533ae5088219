"""``Podium``: the one object for the common case.

    from podium import Podium
    result = Podium().run("How many orders were placed in 2024, and what is the return policy?")
    print(result.answer)

It assembles the registry (built-in experts, plugins, the workspace's experts, yours), the
models, the graph (default or your own), the checkpointer and the store, runs tasks, streams
their events, and resumes interrupted runs by id.
"""

from __future__ import annotations

import asyncio
import contextlib
import functools
import threading
import time
import uuid
from collections.abc import AsyncIterator, Callable, Coroutine, Iterable
from pathlib import Path
from typing import Any, TypeVar

from langchain_core.messages import HumanMessage
from langgraph.types import Command
from pydantic import Field

from podium import caches, learning, tracing
from podium.errors import ConfigError, InputRejected, PodiumError
from podium.executors import make_executor
from podium.experts.base import Expert
from podium.experts.registry import ExpertRegistry
from podium.graphs.default import OrchestrateGraph, build_orchestrate_graph
from podium.guardians import Guardian, check_text
from podium.guardians.setup import Guards
from podium.memory.checkpointer import open_checkpointer, prepare
from podium.memory.conversations import ConversationStore
from podium.memory.store import RunStore
from podium.models.catalog import plans_reliably
from podium.models.provider import ChatModelLike, ModelProvider, is_local, model_label
from podium.models.roles import default_roles
from podium.orchestrator.collaboration.builtin import register_builtin_policies
from podium.orchestrator.context import PodiumContext
from podium.orchestrator.events import RunFinished, RunPaused, RunStarted
from podium.orchestrator.planner_cascade import CascadeSettings
from podium.orchestrator.semantic_router import RouterSettings
from podium.orchestrator.state import RunState, total_cost
from podium.records import RunRecord, VerdictRecord
from podium.workspace import LimitsSpec, Workspace, demo_workspace

EventListener = Callable[[dict[str, Any]], None]
T = TypeVar("T")


class RunResult(RunRecord):
    """What a run produced: a :class:`~podium.records.RunRecord` (the answer, the plan, every
    step, every event, the cost) plus the ledger of model calls, which is not stored.

    Steps, plan and cost are typed records that also read like dicts (``step["expert"]`` is
    ``step.expert``), so code written against the earlier plain dicts keeps working.
    """

    ledger: list[dict[str, Any]] = Field(
        default_factory=list, description="Every model-using action: who spent what, and why."
    )

    def record(self) -> RunRecord:
        """The run as the one published shape (without the in-memory ledger)."""
        return RunRecord.model_validate(self.model_dump(exclude={"ledger"}))

    def to_json_dict(self) -> dict[str, Any]:
        """The shape ``podium run --json`` prints: the :class:`RunRecord` as JSON."""
        return self.record().to_json_dict()


def builtin_experts() -> list[Expert]:
    from podium.experts.fact_check import FactCheckExpert
    from podium.experts.nl2sql import NL2SQLExpert
    from podium.experts.retrieval import RetrievalExpert
    from podium.experts.schema_match import SchemaMatchExpert

    return [NL2SQLExpert(), RetrievalExpert(), SchemaMatchExpert(), FactCheckExpert()]


def _fact_check_guardian() -> Guardian:
    from podium.experts.fact_check.guardian import FactCheckGuardian

    return FactCheckGuardian()


class Podium:
    """Plan with a large model, work with small experts, on a LangGraph state machine.

    Args:
        planner: model URI or LangChain chat model that plans (default: the workspace's,
            else the ladder's Qwen2.5-Coder-1.5B, else ``local:smollm2``).
        experts: extra experts (objects or decorated functions); they replace built-ins of the
            same name.
        workspace: a folder with a ``podium.toml`` or a :class:`Workspace`; default: the demo.
        workflow: a ``StateGraph`` built from Podium's nodes (default: the orchestrate graph).
        synthesizer, large, small, embeddings: models for those roles (default: the
            workspace's, else what this machine has: see ``podium.models.roles``).
        guardians: extra guardians for ``guard_in``/``guard_out``.
        builtins, plugins: include the built-in experts / the ``podium.experts`` entry points.
        checkpoint: keep a SQLite checkpoint per run so it can be resumed (default on).
    """

    def __init__(
        self,
        planner: ChatModelLike | None = None,
        experts: Iterable[Any] = (),
        workspace: str | Path | Workspace | None = None,
        *,
        workflow: OrchestrateGraph | None = None,
        synthesizer: ChatModelLike | None = None,
        large: ChatModelLike | None = None,
        small: ChatModelLike | None = None,
        embeddings: str | None = None,
        guardians: Iterable[Guardian] = (),
        builtins: bool = True,
        plugins: bool = True,
        checkpoint: bool = True,
        store: bool = True,
        semantic_check: bool = True,
        planner_cascade: bool = True,
        limits: LimitsSpec | None = None,
        warmup: bool = True,
        executor: Any = None,
    ) -> None:
        if workspace is None:
            workspace = demo_workspace()
        self.workspace = (
            workspace if isinstance(workspace, Workspace) else Workspace.load(workspace)
        )
        cfg = self.workspace.config
        self.registry = ExpertRegistry()
        if builtins:
            for exp in builtin_experts():
                self.registry.register(exp, origin="podium")
        if plugins:
            self.registry.load_entry_points()
        self.registry.load_specs(cfg.experts, origin=str(self.workspace.root / "podium.toml"))
        for item in experts:
            self.registry.register(item, origin="python", replace=True)
        defaults = default_roles()
        planner = planner or cfg.models.planner or defaults["planner"]
        # The workspace's [guardians] policy: guardians, the PII vault on remote models, audit.
        tracing.configure_from(cfg.tracing)  # tracing: on only when [tracing] or OTEL_* say so
        self.guards = Guards.from_workspace(self.workspace)
        self.models = ModelProvider(
            {
                "planner": planner,
                "synthesizer": synthesizer or cfg.models.synthesizer or planner,
                "large": large or cfg.models.large or planner,
                "small": small or cfg.models.small or defaults["small"],
                "embeddings": embeddings or cfg.models.embeddings,
            },
            outbound=self.guards.outbound,
        )
        self.limits = limits or cfg.limits
        self.guards.models_are_local(all(is_local(m) for m in self.models.roles.values() if m))
        self.guardians = [*self.guards.guardians, *guardians]
        self.semantic_check = semantic_check
        # The router plans the tasks it is sure of; the planner model the rest.
        self.cascade = CascadeSettings(enabled=planner_cascade)
        if builtins and not any(getattr(g, "name", "") == "fact_check" for g in self.guardians):
            self.guardians.append(_fact_check_guardian())  # guard_out: contradicted claims
        # Where expert calls run: the argument, else the workspace's [executor] (in-process).
        self.executor = executor if executor is not None else make_executor(cfg.executor)
        self._owns_executor = executor is None
        self.graph_builder = workflow if workflow is not None else build_orchestrate_graph()
        register_builtin_policies()  # what a step's policy.kind may name: vote, verify, ...
        self.checkpoint = checkpoint
        self.store = RunStore(self.workspace.store_url) if store else None
        self._context: PodiumContext | None = None
        self._graph: Any = None
        self._context_lock = threading.Lock()
        learning.attach(self)  # learning: what `podium learn` kept (few-shot, calibrators, router)
        if warmup:
            # Importing sentence-transformers costs seconds; overlap it with the first plan.
            threading.Thread(target=self._warm, daemon=True, name="podium-warmup").start()
        caches.podium_opened(self)  # shared models stay loaded until the last Podium closes

    def _warm(self) -> None:
        with contextlib.suppress(Exception):
            self.models.embedder()
        self.guards.warm()

    @functools.cached_property
    def conversations(self) -> ConversationStore:
        """This workspace's conversations (same database as the run store)."""
        return ConversationStore(self.workspace.store_url)

    @property
    def planner_label(self) -> str:
        return model_label(self.models.roles["planner"])

    @property
    def context(self) -> PodiumContext:
        """The runtime context shared by all runs of this instance (models load once)."""
        with self._context_lock:
            if self._context is None:
                self._context = PodiumContext(
                    registry=self.registry,
                    models=self.models,
                    workspace=self.workspace,
                    limits=self.limits,
                    guardians=list(self.guardians),
                    semantic_check=self.semantic_check,
                    cascade=self.cascade,
                    router_settings=RouterSettings(
                        advisory=plans_reliably(self.models.roles["planner"])
                    ),
                    executor=self.executor,
                    guards=self.guards if self.guards.policy.enabled else None,
                )
            return self._context

    # -- running --------------------------------------------------------------------------

    def run(
        self, task: str | bytes, *, run_id: str | None = None, on_event: EventListener | None = None
    ) -> RunResult:
        """Run a task to the end and return its result (sync; see :meth:`arun`)."""
        return _run_sync(self.arun(task, run_id=run_id, on_event=on_event))

    async def arun(
        self,
        task: str | bytes,
        *,
        run_id: str | None = None,
        on_event: EventListener | None = None,
        conversation_id: str | None = None,
        history: list[Any] | None = None,
    ) -> RunResult:
        """Run a task to the end. Raises the run's PodiumError if it failed."""
        box = _Outcome(conversation_id)
        async for ev in self._start(box, task, run_id, conversation_id, history):
            box.events.append(ev)
            if on_event:
                on_event(ev)
        return box.result()

    async def astream(
        self,
        task: str | bytes,
        *,
        run_id: str | None = None,
        conversation_id: str | None = None,
        history: list[Any] | None = None,
    ) -> AsyncIterator[dict[str, Any]]:
        """Run a task, yielding every event as a JSON-ready dict as it happens.

        Bad input raises :class:`InputRejected` before anything is stored; a run that fails
        later ends with a ``run_finished`` event whose status is ``failed``.
        """
        async for ev in self._start(_Outcome(), task, run_id, conversation_id, history):
            yield ev

    async def _start(
        self,
        box: _Outcome,
        task: str | bytes,
        run_id: str | None,
        conversation_id: str | None,
        history: list[Any] | None,
    ) -> AsyncIterator[dict[str, Any]]:
        text = check_text(task, max_chars=self.limits.max_task_chars)
        run_id = run_id or uuid.uuid4().hex[:12]
        if conversation_id and history is None:
            history = await asyncio.to_thread(
                self.conversations.history, conversation_id, query=text
            )
        messages = [*(history or []), HumanMessage(text)]
        state: RunState = {
            "started_at": time.time(),
            "run_id": run_id,
            "task": text,
            "messages": messages,
            "results": {},
            "verdicts": [],
            "ledger": [],
            "status": "running",
        }
        if self.store:  # the run store's calls run off the event loop (a server database)
            await asyncio.to_thread(
                self.store.start_run,
                run_id,
                text,
                planner=self.planner_label,
                workspace=str(self.workspace.root),
                conversation_id=conversation_id,
            )
        async for ev in self._drive(box, run_id, state, fresh=True, task=text):
            if conversation_id and ev["type"] == "run_finished":
                reply = ev.get("answer") or f"(run {ev['status']}: {ev.get('error') or ''})"
                await asyncio.to_thread(self._remember, conversation_id, text, reply, run_id)
            yield ev

    async def aresume(
        self,
        run_id: str,
        approvals: dict[str, Any] | None = None,
        *,
        on_event: EventListener | None = None,
    ) -> RunResult:
        """Continue a run from its last checkpoint; finished steps do not run again.

        ``approvals`` answers a paused run: ``{step_id: True | False | {"approved": bool,
        "note": str}}`` for the steps listed in ``RunResult.pending_approvals``.
        """
        box = _Outcome()
        async for ev in self.astream_resume(run_id, approvals, box=box):
            box.events.append(ev)
            if on_event:
                on_event(ev)
        return box.result()

    def resume(self, run_id: str, approvals: dict[str, Any] | None = None) -> RunResult:
        return _run_sync(self.aresume(run_id, approvals))

    async def astream_resume(
        self, run_id: str, approvals: dict[str, Any] | None = None, *, box: _Outcome | None = None
    ) -> AsyncIterator[dict[str, Any]]:
        if not self.checkpoint:
            raise ConfigError("this Podium was created with checkpoint=False: nothing to resume")
        task, conversation_id = "", None
        if self.store:
            stored = await asyncio.to_thread(self.store.get_run, run_id)
            run_id, task, conversation_id = stored.run_id, stored.task, stored.conversation_id
        if approvals:
            pending = {p["step_id"] for p in await self.pending_approvals(run_id)}
            unknown = sorted(set(approvals) - pending)
            if unknown:
                raise InputRejected(
                    f"no approval is pending for step {', '.join(unknown)} of run {run_id}",
                    hint=f"pending: {', '.join(sorted(pending)) or 'none'}",
                )
        command: Command[Any] | None = Command(resume=approvals) if approvals else None
        box = box or _Outcome()
        box.conversation_id = box.conversation_id or conversation_id
        async for ev in self._drive(box, run_id, command, fresh=False, task=task):
            yield ev

    async def pending_approvals(self, run_id: str) -> list[dict[str, Any]]:
        """The steps a paused run waits on (empty when it is not paused)."""
        async with self._compiled() as graph:
            snapshot = await graph.aget_state({"configurable": {"thread_id": run_id}})
        return _pending(snapshot)

    async def _drive(
        self,
        box: _Outcome,
        run_id: str,
        graph_input: RunState | Command[Any] | None,
        *,
        fresh: bool,
        task: str,
    ) -> AsyncIterator[dict[str, Any]]:
        """Stream one leg of a run (start, resume or answer to approvals) and record it."""
        seq = (
            await asyncio.to_thread(self.store.next_seq, run_id) if self.store and not fresh else 1
        )
        box.planner, box.workspace = self.planner_label, str(self.workspace.root)
        final: dict[str, Any] = {}
        trace = tracing.start_run(run_id, task, resumed=not fresh)  # tracing: None when off
        trace_id = trace.trace_id if trace else None

        kinds: set[str] = set()  # the types of this leg's events, for learning's harvest

        def stamp(ev: dict[str, Any]) -> dict[str, Any]:
            nonlocal seq
            kinds.add(ev["type"])
            ev = {**ev, "run_id": run_id, "seq": seq}
            seq += 1
            if self.store:
                self.store.record_event(ev)
            return ev

        if fresh:
            yield stamp(
                RunStarted(
                    run_id=run_id,
                    task=task,
                    planner=self.planner_label,
                    workspace=str(self.workspace.root),
                    trace_id=trace_id,
                ).model_dump(mode="json")
            )
        config: dict[str, Any] = {"configurable": {"thread_id": run_id}, "recursion_limit": 200}
        if trace:
            config["callbacks"] = [trace.handler]
        status: Any = "failed"  # a RunFinished status, read from the graph's final state
        answer, error = None, None
        try:
            async with self._compiled() as graph:
                stream = graph.astream(
                    graph_input, config, context=self.context, stream_mode=["custom", "values"]
                )
                try:
                    # The hard stop for a step that overruns the run's time budget; between
                    # steps, dispatch stops more gently (see orchestrator/budget.py).
                    async with asyncio.timeout(self.limits.max_seconds):
                        async for mode, chunk in stream:
                            if mode == "custom":
                                yield stamp(chunk)
                            else:
                                final = chunk
                except TimeoutError:
                    await stream.aclose()
                    final = _stopped(
                        final,
                        f"the time budget ({self.limits.max_seconds:g} s) ran out during a step",
                    )
                snapshot = await graph.aget_state(config) if self.checkpoint else None
            if final.get("stopped") and final.get("status") == "partial" and snapshot:
                snapshot = None  # the checkpoint is mid-step; what we composed is the answer
            if snapshot is not None and snapshot.values:
                final = dict(snapshot.values)
            box.pending = _pending(snapshot)
            status = final.get("status") or "done"
            status = "done" if status == "running" else status
            answer = final.get("answer")
        except PodiumError as exc:
            box.error, error = exc, str(exc)
        except Exception as exc:
            box.error, error = exc, f"{type(exc).__name__}: {exc}"
        cost = total_cost(final.get("ledger", []))
        if trace:
            trace.finish("awaiting_approval" if box.pending else status, error, cost)
        box.state = final
        if box.pending and box.error is None:
            if self.store:
                await asyncio.to_thread(
                    self.store.finish_run,
                    run_id,
                    status="awaiting_approval",
                    answer=None,
                    error=None,
                    cost=cost,
                )
            yield stamp(
                RunPaused(run_id=run_id, pending=box.pending, trace_id=trace_id).model_dump(
                    mode="json"
                )
            )
            if self.store:  # the closing event is on disk too before the caller reads the run
                await asyncio.to_thread(self.store.flush)
            return
        if self.store:
            # A run that never paused has all its events in this leg: when none of them, and
            # none of its outputs, can vouch for a step, the run is not read back to harvest.
            harvest = not fresh or learning.may_vouch(
                (o.get("output") for o in final.get("results", {}).values()), kinds
            )
            await asyncio.to_thread(
                self._finished, run_id, status, answer, error, cost, harvest=harvest
            )
        yield stamp(
            RunFinished(
                run_id=run_id,
                status=status,
                answer=answer,
                error=error,
                cost=cost,
                trace_id=trace_id,
            ).model_dump(mode="json")
        )
        if self.store:  # the closing event is on disk too before the caller reads the run
            await asyncio.to_thread(self.store.flush)

    def _remember(self, conversation_id: str, text: str, reply: str, run_id: str) -> None:
        """The exchange joins its conversation (in a worker thread: it writes the store)."""
        self.conversations.append(conversation_id, "user", text, run_id=run_id)
        self.conversations.append(conversation_id, "assistant", reply, run_id=run_id)

    def _finished(
        self,
        run_id: str,
        status: str,
        answer: str | None,
        error: str | None,
        cost: dict[str, Any] | None,
        *,
        harvest: bool = True,
    ) -> None:
        """The run's row is closed and learning harvests what its steps vouched for (in a
        worker thread: both read and write the store, which may be a server database)."""
        if self.store is None:
            return
        self.store.finish_run(run_id, status=status, answer=answer, error=error, cost=cost)
        if harvest:
            learning.after_run(self, run_id)

    @contextlib.asynccontextmanager
    async def _compiled(self) -> AsyncIterator[Any]:
        """The graph, compiled once; each run gets it with its own checkpointer connection."""
        with self._context_lock:
            if self._graph is None:
                self._graph = self.graph_builder.compile()
                if self.checkpoint:
                    prepare(self.workspace.checkpoint_url)
        if not self.checkpoint:
            yield self._graph
            return
        async with open_checkpointer(self.workspace.checkpoint_url) as saver:
            yield self._graph.copy(update={"checkpointer": saver})

    def close(self) -> None:
        """Release what this Podium holds: queued store writes, and the executor it made from
        the workspace's [executor] (one passed in stays open for its owner to close)."""
        if self.store:
            self.store.flush()
        close = getattr(self.executor, "close", None)
        if self._owns_executor and callable(close):
            close()
        caches.podium_closed(self)  # the last open Podium releases the shared models


class _Outcome:
    """Per-run collection point: each run has its own, so concurrent runs never mix."""

    def __init__(self, conversation_id: str | None = None) -> None:
        self.events: list[dict[str, Any]] = []
        self.state: dict[str, Any] = {}
        self.error: BaseException | None = None
        self.pending: list[dict[str, Any]] = []
        self.conversation_id = conversation_id
        self.planner = ""
        self.workspace = ""

    def result(self) -> RunResult:
        if self.error is not None:
            raise self.error
        state, events = self.state, self.events
        last = events[-1] if events else {}
        results = state.get("results", {})
        plan = state.get("plan") or {}
        order = [s["id"] for s in plan.get("steps", [])]
        paused = last.get("type") == "run_paused"
        return RunResult.model_validate(
            {
                "run_id": last.get("run_id", state.get("run_id", "")),
                "task": state.get("task", ""),
                "status": "awaiting_approval" if paused else last.get("status", "failed"),
                "answer": last.get("answer"),
                "error": last.get("error"),
                "plan": plan or None,
                "cost": last.get("cost", {}),
                "planner": self.planner,
                "workspace": self.workspace,
                "conversation_id": self.conversation_id,
                "created_at": state.get("started_at"),
                "finished_at": last.get("ts"),
                "steps": [results[sid] for sid in order if sid in results],
                "verdicts": [VerdictRecord.of(v) for v in state.get("verdicts", [])],
                "pending_approvals": self.pending,
                "trace_id": last.get("trace_id"),
                "events": events,
                "ledger": [dict(e) for e in state.get("ledger", [])],
            }
        )


def _stopped(state: dict[str, Any], reason: str) -> dict[str, Any]:
    """A partial result from the last state seen, when a run had to be cut off."""
    from podium.orchestrator.plan import Plan
    from podium.orchestrator.synthesizer import compose

    plan = state.get("plan")
    found = compose(Plan.model_validate(plan), state.get("results", {})) if plan else ""
    return {
        **state,
        "status": "partial",
        "stopped": reason,
        "answer": f"(Stopped early: {reason}.)\n{found}".strip(),
    }


def _pending(snapshot: Any) -> list[dict[str, Any]]:
    if snapshot is None:
        return []
    for item in getattr(snapshot, "interrupts", ()) or ():
        value = getattr(item, "value", None)
        if isinstance(value, dict) and "pending" in value:
            return list(value["pending"])
    return []


def _run_sync(coro: Coroutine[Any, Any, T]) -> T:
    """``asyncio.run``, also from code that already runs an event loop (e.g. Jupyter)."""
    values: list[T] = []

    async def main() -> None:
        # The result leaves through ``values``, not as the main task's result: on its way out
        # ``asyncio.run`` formats its SIGINT handler, and with it the finished task's result
        # (Python 3.11's signal.signal -> repr) - a full repr of a large RunResult, every run.
        values.append(await coro)

    try:
        asyncio.get_running_loop()
    except RuntimeError:
        asyncio.run(main())
        return values[0]
    errors: list[BaseException] = []

    def target() -> None:
        try:
            asyncio.run(main())
        except BaseException as exc:
            errors.append(exc)

    thread = threading.Thread(target=target)
    thread.start()
    thread.join()
    if errors:
        raise errors[0]
    return values[0]
