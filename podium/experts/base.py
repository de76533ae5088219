"""The Expert contract: a small model behind a plain Python interface.

An expert knows nothing about graphs. It gets a validated request (its own pydantic input
model) and an :class:`ExpertContext` (the workspace, the results of the steps it depends on,
a way to reach models), and returns an :class:`ExpertResult`. Timing and token accounting are
added by Podium around the call, so expert authors never write them.
"""

from __future__ import annotations

import asyncio
import contextvars
import json
from collections.abc import Callable, Mapping
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, ClassVar

from pydantic import BaseModel, ConfigDict, Field, ValidationError

from podium.errors import ExpertError

if TYPE_CHECKING:
    from podium.models.provider import ModelProvider
    from podium.workspace import Workspace


class Cost(BaseModel):
    """What one expert call spent. ``large_calls`` counts calls to a remote/large model."""

    model: str = ""
    input_tokens: int = 0
    output_tokens: int = 0
    ms: float = 0.0
    large_calls: int = 0

    @property
    def tokens(self) -> int:
        return self.input_tokens + self.output_tokens

    def __add__(self, other: Cost) -> Cost:
        models = [m for m in (self.model, other.model) if m]
        return Cost(
            model=",".join(dict.fromkeys(",".join(models).split(","))) if models else "",
            input_tokens=self.input_tokens + other.input_tokens,
            output_tokens=self.output_tokens + other.output_tokens,
            ms=self.ms + other.ms,
            large_calls=self.large_calls + other.large_calls,
        )


class Evidence(BaseModel):
    """Something an answer can be checked against: a passage, result rows, a query."""

    kind: str = Field(description="passage | rows | sql | claim | other")
    text: str
    source: str = ""
    score: float | None = None
    metadata: dict[str, Any] = Field(default_factory=dict)


class ExpertResult(BaseModel):
    """The outcome of one expert call.

    ``confidence`` is in [0, 1]: calibrated where the expert can be, otherwise an honest
    heuristic that the expert documents. A failed call has ``error`` set and confidence 0.
    """

    model_config = ConfigDict(arbitrary_types_allowed=False)

    output: Any = None
    summary: str | None = Field(
        default=None, description="A short human-readable statement of the result."
    )
    confidence: float = Field(default=0.0, ge=0.0, le=1.0)
    evidence: list[Evidence] = Field(default_factory=list)
    cost: Cost = Field(default_factory=Cost)
    error: str | None = None
    details: dict[str, Any] = Field(
        default_factory=dict, description="Expert-specific extras (candidates, votes, scores)."
    )
    needs_approval: str | None = Field(
        default=None,
        description="Why a person should approve this result before the run uses it "
        "(e.g. a query over the row limit). The run pauses until someone answers.",
    )

    @property
    def ok(self) -> bool:
        return self.error is None

    @classmethod
    def failure(cls, reason: str, *, cost: Cost | None = None) -> ExpertResult:
        return cls(error=reason, confidence=0.0, cost=cost or Cost())

    def text(self, limit: int = 1500) -> str:
        """The output as text a model can read (used by synthesis and by later steps)."""
        if self.error:
            return f"(failed: {self.error})"
        if self.summary:
            return self.summary if len(self.summary) <= limit else self.summary[: limit - 1] + "…"
        out = self.output
        rendered = out if isinstance(out, str) else json.dumps(out, ensure_ascii=False, default=str)
        return rendered if len(rendered) <= limit else rendered[: limit - 1] + "…"


class TextRequest(BaseModel):
    """The default input: one natural-language instruction from the plan."""

    text: str = Field(min_length=1, description="What the expert should do, in words.")


@dataclass
class ExpertContext:
    """Everything an expert may use besides its request.

    ``dependencies`` maps the ids of the steps this one depends on to their results, so an
    expert can build on earlier work (e.g. fact-check the rows an nl2sql step returned).
    """

    run_id: str = ""
    step_id: str = ""
    task: str = ""
    dependencies: Mapping[str, ExpertResult] = field(default_factory=dict)
    workspace: Workspace | None = None
    models: ModelProvider | None = None
    options: dict[str, Any] = field(default_factory=dict)
    emit: Callable[[dict[str, Any]], None] = field(default=lambda _event: None)


# Expert calls that are synchronous run on this pool. Its size is chosen on purpose: asyncio's
# default pool runs only cpu+4 (6 on 2 cores) at once, which serialises wide fan-outs of
# I/O-bound experts (measured in benchmarks/overhead.py).
_EXPERT_POOL = ThreadPoolExecutor(max_workers=32, thread_name_prefix="podium-expert")


class Expert:
    """Base class for experts. Subclass it, or use the :func:`podium.expert` decorator.

    Class attributes describe the expert to the planner: ``name`` (unique, snake_case),
    ``description`` (what it does and when to use it — the planner reads this), and
    ``input_model`` (a pydantic model; its first string field receives the step's text).
    ``output_model`` (optional) is checked against every result's ``output``: a result that
    does not match fails its step instead of feeding bad data to later steps.
    ``model`` is the model URI the expert uses when it needs a generator or encoder;
    ``timeout_s`` and ``retry`` (a LangGraph ``RetryPolicy``) override Podium's defaults.
    """

    name: ClassVar[str] = ""
    description: ClassVar[str] = ""
    input_model: ClassVar[type[BaseModel]] = TextRequest
    output_model: ClassVar[type[BaseModel] | None] = None
    examples: ClassVar[tuple[str, ...]] = ()
    model: str | None = None
    timeout_s: float | None = None
    retry: Any = None
    # Clauses the semantic router should send here, published by ``podium learn`` from
    # confirmed runs (podium.learning).
    learned_hints: tuple[str, ...] = ()

    def check_output(self, result: ExpertResult) -> ExpertResult:
        """Fail a result whose output does not match ``output_model``."""
        if self.output_model is None or not result.ok:
            return result
        try:
            self.output_model.model_validate(result.output)
        except ValidationError as exc:
            return ExpertResult.failure(
                f"output does not match {self.output_model.__name__}: {_first_error(exc)}",
                cost=result.cost,
            )
        return result

    def run(self, request: BaseModel, ctx: ExpertContext) -> ExpertResult:
        """Do the work synchronously. Override this or :meth:`arun`."""
        raise NotImplementedError(f"expert {self.name!r} implements neither run nor arun")

    async def arun(self, request: BaseModel, ctx: ExpertContext) -> ExpertResult:
        """Do the work asynchronously; by default runs :meth:`run` on Podium's expert pool."""
        loop = asyncio.get_running_loop()
        # Copy the context so the usage meter (a ContextVar) follows the call into the pool.
        context = contextvars.copy_context()
        return await loop.run_in_executor(_EXPERT_POOL, context.run, self.run, request, ctx)

    # -- helpers used by the orchestrator -------------------------------------------------

    def parse_input(self, text: str, args: Mapping[str, Any] | None = None) -> BaseModel:
        """Build this expert's request from a plan step's text and optional arguments."""
        data: dict[str, Any] = dict(args or {})
        primary = primary_text_field(self.input_model)
        if primary and text and primary not in data:
            data[primary] = text
        try:
            return self.input_model.model_validate(data)
        except ValidationError as exc:
            raise ExpertError(
                f"expert {self.name!r} cannot take this input: {_first_error(exc)}",
                hint=f"its input fields are {list(self.input_model.model_fields)}",
            ) from exc

    def card(self) -> dict[str, Any]:
        """What `podium experts list` and the planner see."""
        return {
            "name": self.name,
            "description": self.description,
            "model": self.model,
            "inputs": list(self.input_model.model_fields),
            "kind": type(self).__qualname__,
        }

    def __repr__(self) -> str:
        return f"<Expert {self.name} ({type(self).__name__})>"


def primary_text_field(model: type[BaseModel]) -> str | None:
    """The first ``str`` field of an input model: where a plan step's text goes."""
    for name, info in model.model_fields.items():
        if info.annotation is str:
            return name
    return None


def _first_error(exc: ValidationError) -> str:
    err = exc.errors()[0]
    where = ".".join(str(p) for p in err.get("loc", ())) or "input"
    return f"{where}: {err.get('msg', 'invalid')}"
