"""Experts as Ray actors: the same ``Expert`` objects, run by a pool of actors per expert.

    from podium import Podium
    from podium.executors import RayExecutor

    with RayExecutor(replicas=2) as ray_exec:          # a small local Ray; address="auto" joins
        podium = Podium(executor=ray_exec)             # a cluster started with `ray start`
        print(podium.run("How many orders were placed in 2024?").answer)

Each expert gets ``replicas`` actors, created on its first call. An actor unpickles its own copy
of the expert once and keeps its models loaded (a :class:`ModelProvider` per set of model
roles, cached), so a call costs the model, not a load. A call goes to the replica with the
fewest calls in flight. A dead actor is restarted by Ray (``max_restarts``) and the call it was
serving is retried on the new one (``max_task_retries``); when those run out the step gets an
:class:`~podium.errors.ExpertError` that says so.

What crosses the wire: the expert (pickled once per pool; its locks are recreated on the other
side), the request, and a plain copy of the context (ids, task, dependency results, the
workspace, the model roles). Notes the expert emits are replayed on the caller when the call
ends, and the model usage it metered comes back in ``ExpertResult.cost``.
"""

from __future__ import annotations

import asyncio
import io
import os
import pickle
import threading
import time
from dataclasses import dataclass, field
from typing import Any

from pydantic import BaseModel

from podium.errors import ConfigError, ExpertError, PodiumError
from podium.experts.base import Expert, ExpertContext, ExpertResult

from .spec import ExecutorSpec

try:
    import ray
    from ray import cloudpickle
except ImportError as exc:  # pragma: no cover - depends on the install
    raise ConfigError(
        "executor 'ray' needs Ray, which is not installed",
        hint="pip install 'podium[scale]'  (or set executor = 'inprocess')",
    ) from exc


# -- pickling what an actor needs ----------------------------------------------------------


def _fresh_lock(kind: str) -> Any:
    return threading.RLock() if kind == "rlock" else threading.Lock()


_LOCK_TYPES = {type(threading.Lock()): "lock", type(threading.RLock()): "rlock"}


class _Pickler(cloudpickle.CloudPickler):
    """cloudpickle, plus: a lock becomes a new, unlocked lock in the receiving process."""

    def reducer_override(self, obj: Any) -> Any:
        kind = _LOCK_TYPES.get(type(obj))
        if kind is not None:
            return _fresh_lock, (kind,)
        return super().reducer_override(obj)


def dumps(obj: Any) -> bytes:
    buf = io.BytesIO()
    _Pickler(buf, protocol=5).dump(obj)
    return buf.getvalue()


@dataclass
class _Call:
    """One expert call as plain data (what :class:`ExpertContext` holds minus the callables)."""

    request: BaseModel
    run_id: str = ""
    step_id: str = ""
    task: str = ""
    dependencies: dict[str, ExpertResult] = field(default_factory=dict)
    workspace: Any = None
    options: dict[str, Any] = field(default_factory=dict)
    roles: dict[str, Any] | None = None


def _error_payload(exc: BaseException) -> tuple[Any, ...]:
    """An exception as data that survives pickling, PodiumErrors with their hint."""
    if isinstance(exc, PodiumError):
        return ("podium", type(exc), exc.message, exc.hint)
    try:
        pickle.loads(dumps(exc))
        return ("exception", exc)
    except Exception:
        return ("podium", ExpertError, f"{type(exc).__name__}: {exc}", None)


def _raise(payload: tuple[Any, ...]) -> None:
    if payload[0] == "podium":
        _, cls, message, hint = payload
        try:
            error = cls(message, hint=hint)
        except TypeError:
            error = ExpertError(message, hint=hint)
        raise error
    raise payload[1]


# -- the actor -----------------------------------------------------------------------------


class ExpertActor:
    """Holds one expert and its loaded models in a Ray worker process."""

    def __init__(self, expert_blob: bytes) -> None:
        self.expert: Expert = pickle.loads(expert_blob)
        self.providers: dict[Any, Any] = {}
        self.calls = 0
        self.started = time.time()

    def _models(self, roles: dict[str, Any] | None) -> Any:
        if roles is None:
            return None
        from podium.models.provider import ModelProvider

        if not all(isinstance(v, str) for v in roles.values()):
            return ModelProvider(roles)  # model objects came pickled with the call
        key = tuple(sorted(roles.items()))
        if key not in self.providers:
            self.providers[key] = ModelProvider(roles)
        return self.providers[key]

    async def call(self, blob: bytes) -> bytes:
        from podium.experts.base import Cost
        from podium.models.usage import metered

        call: _Call = pickle.loads(blob)
        notes: list[dict[str, Any]] = []
        ctx = ExpertContext(
            run_id=call.run_id,
            step_id=call.step_id,
            task=call.task,
            dependencies=call.dependencies,
            workspace=call.workspace,
            models=self._models(call.roles),
            options=call.options,
            emit=notes.append,
        )
        try:
            with metered() as (meter, timing):
                result = await self.expert.arun(call.request, ctx)
            if isinstance(result, ExpertResult):
                declared = result.cost
                result.cost = Cost(
                    model=declared.model or ", ".join(meter.models),
                    input_tokens=declared.input_tokens or meter.input_tokens,
                    output_tokens=declared.output_tokens or meter.output_tokens,
                    ms=declared.ms or round(timing["ms"], 2),
                    large_calls=declared.large_calls or meter.large_calls,
                )
            out: tuple[Any, ...] = ("ok", result, notes)
        except Exception as exc:
            out = ("error", _error_payload(exc), notes)
        self.calls += 1
        return dumps(out)

    def stats(self) -> dict[str, Any]:
        """Who this replica is: its process, how many calls it served, models it holds."""
        return {
            "pid": os.getpid(),
            "calls": self.calls,
            "providers": len(self.providers),
            "started": self.started,
        }


# -- the executor --------------------------------------------------------------------------


class _Pool:
    """The replicas of one expert and how many calls each has in flight."""

    def __init__(self, expert: Expert, actors: list[Any]) -> None:
        self.expert = expert  # keeps id(expert) from being reused while the pool lives
        self.actors = actors
        self.inflight = [0] * len(actors)
        self._next = 0
        self._lock = threading.Lock()

    def acquire(self) -> int:
        with self._lock:
            n = len(self.actors)
            order = [(self._next + i) % n for i in range(n)]
            index = min(order, key=lambda i: self.inflight[i])
            self.inflight[index] += 1
            self._next = (index + 1) % n
            return index

    def release(self, index: int) -> None:
        with self._lock:
            self.inflight[index] -= 1


class RayExecutor:
    """Run expert calls on Ray actors (``replicas`` per expert). See the module docstring.

    Pass an :class:`ExecutorSpec` or its fields as keywords. Ray is started on first use
    when it is not running yet (and shut down by :meth:`close` in that case only).
    """

    def __init__(self, spec: ExecutorSpec | None = None, **fields: Any) -> None:
        base = spec.model_dump() if spec else {}
        self.spec = ExecutorSpec.model_validate({**base, "kind": "ray", **fields})
        self._pools: dict[int, _Pool] = {}
        self._lock = threading.Lock()
        self._started_ray = False

    # -- lifecycle --------------------------------------------------------------------------

    def start(self) -> RayExecutor:
        """Connect to (or start) Ray now instead of on the first call."""
        with self._lock:
            if ray.is_initialized():
                return self
            try:
                if self.spec.address:
                    ray.init(address=self.spec.address, log_to_driver=False)
                else:
                    ray.init(
                        num_cpus=self.spec.local_cpus,
                        include_dashboard=False,
                        log_to_driver=False,
                        configure_logging=False,
                    )
            except ConnectionError as exc:
                raise ConfigError(
                    f"cannot reach the Ray cluster at {self.spec.address!r}: {exc}",
                    hint="start one with `ray start --head`, fix [executor] address, or "
                    "leave address empty to start a local Ray",
                ) from exc
            self._started_ray = True
        return self

    def close(self) -> None:
        """Kill this executor's actors; shut Ray down if this executor started it."""
        with self._lock:
            pools, self._pools = list(self._pools.values()), {}
        if not ray.is_initialized():
            return
        for pool in pools:
            for actor in pool.actors:
                ray.kill(actor, no_restart=True)
        if self._started_ray:
            ray.shutdown()
            self._started_ray = False

    def __enter__(self) -> RayExecutor:
        return self.start()

    def __exit__(self, *_exc: object) -> None:
        self.close()

    # -- calls ------------------------------------------------------------------------------

    def pool(self, expert: Expert) -> _Pool:
        """The replicas serving ``expert`` (created on first use)."""
        self.start()
        with self._lock:
            pool = self._pools.get(id(expert))
            if pool is None:
                try:
                    blob = dumps(expert)
                except Exception as exc:
                    raise ExpertError(
                        f"expert {expert.name!r} cannot be sent to a Ray actor: {exc}",
                        hint="keep loaded models out of the expert's attributes (load them "
                        "through ctx.models, or lazily in run), or run it in-process",
                    ) from exc
                options: dict[str, Any] = {
                    "max_restarts": self.spec.max_restarts,
                    "max_task_retries": self.spec.max_task_retries,
                    "max_concurrency": self.spec.concurrency,
                }
                if self.spec.num_cpus is not None:
                    options["num_cpus"] = self.spec.num_cpus
                cls = ray.remote(ExpertActor).options(**options)
                actors = [cls.remote(blob) for _ in range(self.spec.replicas)]
                pool = self._pools[id(expert)] = _Pool(expert, actors)
            return pool

    async def arun(self, expert: Expert, request: BaseModel, ctx: ExpertContext) -> ExpertResult:
        pool = self._pools.get(id(expert))
        if pool is None:
            pool = await asyncio.to_thread(self.pool, expert)
        blob = dumps(
            _Call(
                request=request,
                run_id=ctx.run_id,
                step_id=ctx.step_id,
                task=ctx.task,
                dependencies=dict(ctx.dependencies),
                workspace=ctx.workspace,
                options=dict(ctx.options),
                roles=dict(ctx.models.roles) if ctx.models is not None else None,
            )
        )
        index = pool.acquire()
        ref = pool.actors[index].call.remote(blob)
        try:
            out = await ref
        except asyncio.CancelledError:  # the step timed out: stop the work too
            ray.cancel(ref)
            raise
        except (ray.exceptions.RayActorError, ray.exceptions.ActorUnavailableError) as exc:
            raise ExpertError(
                f"expert {expert.name!r}: its Ray actor died and the call could not be "
                f"retried (max_restarts={self.spec.max_restarts}, "
                f"max_task_retries={self.spec.max_task_retries}): {exc}",
                hint="look at the Ray worker logs for why it died (often: out of memory)",
            ) from exc
        finally:
            pool.release(index)
        status, value, notes = pickle.loads(out)
        for note in notes:
            ctx.emit(note)
        if status == "error":
            _raise(value)
        return value

    def stats(self, expert: Expert) -> list[dict[str, Any]]:
        """Each replica's :meth:`ExpertActor.stats` (pid, calls served, model sets held)."""
        pool = self.pool(expert)
        return ray.get([a.stats.remote() for a in pool.actors])

    def __repr__(self) -> str:
        where = self.spec.address or "local"
        return f"<RayExecutor {where} replicas={self.spec.replicas}>"
