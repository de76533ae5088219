"""``@expert``: turn a typed function into an Expert, learning name, description and inputs
from the function itself (as smolagents' ``@tool`` does)."""

from __future__ import annotations

import inspect
from collections.abc import Callable
from typing import Any, get_type_hints, overload

from pydantic import BaseModel, create_model

from podium.errors import RegistryError

from .base import Expert, ExpertContext, ExpertResult


class FunctionExpert(Expert):
    """An expert backed by a plain (sync or async) function."""

    def __init__(
        self,
        fn: Callable[..., Any],
        *,
        name: str,
        description: str,
        input_model: type[BaseModel],
        ctx_param: str | None,
        confidence: float,
        model: str | None,
        examples: tuple[str, ...],
    ) -> None:
        self.fn = fn
        # Instance attributes shadow the ClassVars so each decorated function is its own expert.
        self.name = name  # type: ignore[misc]
        self.description = description  # type: ignore[misc]
        self.input_model = input_model  # type: ignore[misc]
        self.examples = examples  # type: ignore[misc]
        self.model = model
        self._ctx_param = ctx_param
        self._confidence = confidence
        self._is_async = inspect.iscoroutinefunction(fn)

    def _call_args(self, request: BaseModel, ctx: ExpertContext) -> dict[str, Any]:
        kwargs = request.model_dump()
        if self._ctx_param:
            kwargs[self._ctx_param] = ctx
        return kwargs

    def _wrap(self, value: Any) -> ExpertResult:
        if isinstance(value, ExpertResult):
            return value
        return ExpertResult(output=value, confidence=self._confidence)

    def run(self, request: BaseModel, ctx: ExpertContext) -> ExpertResult:
        if self._is_async:
            import asyncio

            return self._wrap(asyncio.run(self.fn(**self._call_args(request, ctx))))
        return self._wrap(self.fn(**self._call_args(request, ctx)))

    async def arun(self, request: BaseModel, ctx: ExpertContext) -> ExpertResult:
        if self._is_async:
            return self._wrap(await self.fn(**self._call_args(request, ctx)))
        return await super().arun(request, ctx)

    def __call__(self, *args: Any, **kwargs: Any) -> Any:
        """The decorated function stays callable as itself."""
        return self.fn(*args, **kwargs)


@overload
def expert(fn: Callable[..., Any], /) -> FunctionExpert: ...


@overload
def expert(
    *,
    name: str | None = None,
    description: str | None = None,
    confidence: float = 1.0,
    model: str | None = None,
    examples: tuple[str, ...] = (),
) -> Callable[[Callable[..., Any]], FunctionExpert]: ...


def expert(
    fn: Callable[..., Any] | None = None,
    /,
    *,
    name: str | None = None,
    description: str | None = None,
    confidence: float = 1.0,
    model: str | None = None,
    examples: tuple[str, ...] = (),
) -> FunctionExpert | Callable[[Callable[..., Any]], FunctionExpert]:
    """Make an expert from a typed function.

    The function's name is the expert's name, its docstring the description the planner
    reads, and its typed parameters the input model (the first ``str`` parameter receives
    the plan step's text). A parameter named ``ctx`` or annotated ``ExpertContext`` receives
    the run context. Return an :class:`ExpertResult` to report your own confidence and
    evidence; a plain return value is wrapped with ``confidence`` (1.0 by default, right for
    deterministic tools — lower it for guesses).

        @expert
        def currency(amount: str) -> str:
            "Convert an amount between currencies at today's fixed demo rates."
    """

    def build(f: Callable[..., Any]) -> FunctionExpert:
        doc = inspect.getdoc(f) or ""
        desc = description or doc.split("\n\n")[0].strip()
        if not desc:
            raise RegistryError(
                f"expert {f.__name__!r} has no description",
                hint="add a docstring saying what it does: the planner chooses experts by it",
            )
        input_model, ctx_param = _input_model_from_signature(f)
        return FunctionExpert(
            f,
            name=name or f.__name__,
            description=" ".join(desc.split()),
            input_model=input_model,
            ctx_param=ctx_param,
            confidence=confidence,
            model=model,
            examples=examples,
        )

    return build(fn) if fn is not None else build


def _input_model_from_signature(fn: Callable[..., Any]) -> tuple[type[BaseModel], str | None]:
    hints = get_type_hints(fn)
    fields: dict[str, Any] = {}
    ctx_param: str | None = None
    for pname, param in inspect.signature(fn).parameters.items():
        annotation = hints.get(pname, str)
        if pname == "ctx" or annotation is ExpertContext:
            ctx_param = pname
            continue
        if param.kind in (param.VAR_POSITIONAL, param.VAR_KEYWORD):
            continue
        default = ... if param.default is inspect.Parameter.empty else param.default
        fields[pname] = (annotation, default)
    model_name = "".join(part.title() for part in fn.__name__.split("_")) + "Input"
    return create_model(model_name, **fields), ctx_param
