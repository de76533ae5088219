"""Where expert calls run. In this process by default; on Ray actors by configuration.

An executor is any object with ``async arun(expert, request, ctx) -> ExpertResult`` (and
``close()``); hand one to ``Podium(executor=...)`` or name it in ``podium.toml``::

    [executor]
    kind = "ray"
    replicas = 2
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, Protocol

from pydantic import BaseModel

from .inprocess import InProcessExecutor
from .spec import ExecutorSpec

if TYPE_CHECKING:
    from podium.experts.base import Expert, ExpertContext, ExpertResult

    from .ray_actors import RayExecutor


class Executor(Protocol):
    async def arun(
        self, expert: Expert, request: BaseModel, ctx: ExpertContext
    ) -> ExpertResult: ...

    def close(self) -> None: ...


def make_executor(spec: ExecutorSpec | str | dict[str, Any] | None) -> Executor | None:
    """The executor a configuration names; ``None`` for in-process (Podium's plain path)."""
    spec = spec if isinstance(spec, ExecutorSpec) else ExecutorSpec.model_validate(spec or {})
    if spec.kind == "inprocess":
        return None
    from .ray_actors import RayExecutor

    return RayExecutor(spec)


def __getattr__(name: str) -> Any:
    if name == "RayExecutor":  # imported on demand: Ray is an optional dependency
        from .ray_actors import RayExecutor

        return RayExecutor
    raise AttributeError(name)


__all__ = ["Executor", "ExecutorSpec", "InProcessExecutor", "RayExecutor", "make_executor"]
