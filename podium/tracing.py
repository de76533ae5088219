"""OpenTelemetry traces of runs: one trace per run (or per resumed leg of one).

    podium.run                       podium.run_id, podium.task, podium.status
      guard_in                       podium.verdicts (guardian:action, ...)
      plan                           podium.plan.steps
        chat qwen2.5-coder-1.5b      gen_ai.operation.name, gen_ai.request.model,
                                     gen_ai.usage.input_tokens / output_tokens
      step s1 nl2sql                 podium.step_id, podium.expert, podium.policy,
        chat qwen2.5-coder-0.5b ...  podium.status, podium.confidence, podium.decision
      synthesize
      guard_out

Spans follow the OpenTelemetry GenAI semantic conventions for model calls; each graph node is
a span under the run, each model call a span under the node (or step) that made it. They are
built from LangChain callbacks that LangGraph already makes, so neither the graph nor the
experts know about tracing.

Off by default, and then it costs nothing: no SDK is imported and no callback is added. It
turns on with ``[tracing]`` in podium.toml or the standard variables (``OTEL_TRACES_EXPORTER=
otlp|console``, ``OTEL_EXPORTER_OTLP_ENDPOINT``, ``OTEL_SERVICE_NAME``), or from Python with
:func:`configure` (e.g. an SDK ``TracerProvider`` your application already has). No data leaves
the machine unless an exporter is configured.
"""

from __future__ import annotations

import os
import threading
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, Literal
from uuid import UUID

from langchain_core.callbacks import BaseCallbackHandler
from pydantic import BaseModel, ConfigDict, Field

TRACER_NAME = "podium"
_tracer: Any = None  # an opentelemetry Tracer while tracing is on, else None
_provider: Any = None
_lock = threading.Lock()
# OTEL_TRACES_EXPORTER values Podium understands (the first of a comma-separated list counts).
_ENV_EXPORTERS: dict[str, Literal["otlp", "console"]] = {"otlp": "otlp", "console": "console"}
_NODES = ("guard_in", "plan", "dispatch", "step", "approval", "synthesize", "guard_out")


class TracingSpec(BaseModel):
    """``[tracing]`` in podium.toml."""

    model_config = ConfigDict(extra="forbid")

    exporter: Literal["none", "otlp", "console"] = Field(
        default="none", description="none (default): no traces; otlp: send to an endpoint."
    )
    endpoint: str | None = Field(
        default=None,
        description="OTLP/HTTP traces endpoint, e.g. http://127.0.0.1:4318/v1/traces "
        "(default: OTEL_EXPORTER_OTLP_TRACES_ENDPOINT / OTEL_EXPORTER_OTLP_ENDPOINT).",
    )
    service_name: str = "podium"


def enabled() -> bool:
    return _tracer is not None


def configure(provider: Any = None) -> None:
    """Trace runs with ``provider`` (an SDK ``TracerProvider``); ``None`` turns tracing off."""
    global _tracer, _provider
    with _lock:
        _provider = provider
        _tracer = None if provider is None else provider.get_tracer(TRACER_NAME)


def flush(timeout_ms: int = 10_000) -> bool:
    """Send the spans still queued (the CLI calls this before it exits)."""
    force = getattr(_provider, "force_flush", None)
    return bool(force(timeout_ms)) if callable(force) else True


def configure_from(spec: TracingSpec | None = None, env: Mapping[str, str] | None = None) -> bool:
    """Turn tracing on from ``[tracing]`` or, when that says nothing, the OTEL_* variables.
    Returns whether tracing is on. Does nothing when tracing was configured already."""
    env = os.environ if env is None else env
    if enabled():
        return True
    exporter = spec.exporter if spec and spec.exporter != "none" else None
    if exporter is None and env.get("OTEL_SDK_DISABLED", "").lower() != "true":
        chosen = env.get("OTEL_TRACES_EXPORTER", "").split(",")[0].strip()
        exporter = _ENV_EXPORTERS.get(chosen)
    if exporter is None:
        return False
    from opentelemetry.sdk.resources import Resource
    from opentelemetry.sdk.trace import TracerProvider
    from opentelemetry.sdk.trace.export import BatchSpanProcessor, ConsoleSpanExporter

    name = env.get("OTEL_SERVICE_NAME") or (spec.service_name if spec else "podium")
    provider = TracerProvider(resource=Resource.create({"service.name": name}))
    if exporter == "console":
        provider.add_span_processor(BatchSpanProcessor(ConsoleSpanExporter()))
    else:
        try:
            from opentelemetry.exporter.otlp.proto.http.trace_exporter import OTLPSpanExporter
        except ImportError as exc:
            from podium.errors import ConfigError

            raise ConfigError(
                "tracing with exporter 'otlp' needs the OTLP exporter",
                hint="pip install 'podium[tracing]'",
            ) from exc
        endpoint = spec.endpoint if spec and spec.endpoint else None
        provider.add_span_processor(BatchSpanProcessor(OTLPSpanExporter(endpoint=endpoint)))
    configure(provider)
    return True


# -- one run's trace --------------------------------------------------------------------------


@dataclass
class RunTrace:
    """The open run span and the callback that hangs node and model spans under it."""

    span: Any
    handler: _SpanHandler
    trace_id: str

    def finish(self, status: str, error: str | None, cost: Mapping[str, Any]) -> None:
        from opentelemetry.trace import Status, StatusCode

        self.span.set_attribute("podium.status", status)
        for key in ("input_tokens", "output_tokens", "large_calls", "model_calls"):
            if key in cost:
                self.span.set_attribute(f"podium.cost.{key}", int(cost[key]))
        if error:
            self.span.set_status(Status(StatusCode.ERROR, error[:500]))
        self.handler.close_all()
        self.span.end()


def start_run(run_id: str, task: str, *, resumed: bool = False) -> RunTrace | None:
    """The run's root span, or ``None`` when tracing is off."""
    tracer = _tracer
    if tracer is None:
        return None
    span = tracer.start_span(
        "podium.run",
        attributes={
            "podium.run_id": run_id,
            "podium.task": task[:1000],
            "podium.resumed": resumed,
        },
    )
    trace_id = format(span.get_span_context().trace_id, "032x")
    return RunTrace(span, _SpanHandler(tracer, span), trace_id)


@dataclass
class _Open:
    span: Any
    kind: str  # node | model


class _SpanHandler(BaseCallbackHandler):
    """Turns LangGraph's node callbacks and LangChain's model callbacks into spans."""

    run_inline = True  # called where the event happens, so timing is the call's own

    def __init__(self, tracer: Any, root: Any) -> None:
        super().__init__()
        self.tracer, self.root = tracer, root
        self.spans: dict[UUID, _Open] = {}
        self.parents: dict[UUID, UUID | None] = {}
        self.lock = threading.Lock()

    # A span's parent: the nearest ancestor that has a span, else the run span.
    def _parent(self, parent_run_id: UUID | None) -> Any:
        from opentelemetry import trace

        seen = 0
        while parent_run_id is not None and seen < 100:
            if parent_run_id in self.spans:
                return trace.set_span_in_context(self.spans[parent_run_id].span)
            parent_run_id = self.parents.get(parent_run_id)
            seen += 1
        return trace.set_span_in_context(self.root)

    def on_chain_start(
        self,
        serialized: dict[str, Any] | None,
        inputs: Any,
        *,
        run_id: UUID,
        parent_run_id: UUID | None = None,
        tags: list[str] | None = None,
        metadata: dict[str, Any] | None = None,
        **kwargs: Any,
    ) -> None:
        node = (metadata or {}).get("langgraph_node")
        name = kwargs.get("name") or (serialized or {}).get("name")
        with self.lock:
            self.parents[run_id] = parent_run_id
            if parent_run_id is None or node not in _NODES or name != node:
                return
            if "langsmith:hidden" in (tags or []):
                return
            attrs: dict[str, Any] = {"podium.node": node}
            title = node
            if node == "step" and isinstance(inputs, Mapping):
                step = inputs.get("step") or {}
                title = f"step {step.get('id', '')} {step.get('expert', '')}".strip()
                attrs.update(
                    {
                        "podium.step_id": str(step.get("id", "")),
                        "podium.expert": str(step.get("expert", "")),
                        "gen_ai.operation.name": "execute_tool",
                        "gen_ai.tool.name": str(step.get("expert", "")),
                    }
                )
                policy = step.get("policy")
                if policy:
                    attrs["podium.policy"] = str(policy.get("kind") or policy.get("name") or policy)
            span = self.tracer.start_span(
                title, context=self._parent(parent_run_id), attributes=attrs
            )
            self.spans[run_id] = _Open(span, "node")

    def on_chain_end(self, outputs: Any, *, run_id: UUID, **kwargs: Any) -> None:
        with self.lock:
            opened = self.spans.pop(run_id, None)
        if opened is None:
            return
        if isinstance(outputs, Mapping):
            _node_attributes(opened.span, outputs)
        opened.span.end()

    def on_chain_error(self, error: BaseException, *, run_id: UUID, **kwargs: Any) -> None:
        self._fail(run_id, error)

    def on_chat_model_start(
        self,
        serialized: dict[str, Any] | None,
        messages: Any,
        *,
        run_id: UUID,
        parent_run_id: UUID | None = None,
        metadata: dict[str, Any] | None = None,
        invocation_params: dict[str, Any] | None = None,
        **kwargs: Any,
    ) -> None:
        from podium.models.usage import ROLE_KEY, URI_KEY

        meta = metadata or {}
        params = invocation_params or kwargs.get("invocation_params") or {}
        model = str(
            meta.get(URI_KEY)
            or params.get("model")
            or params.get("model_name")
            or (serialized or {}).get("name", "model")
        )
        short = model.split(":", 1)[-1].rsplit("/", 1)[-1]
        attrs: dict[str, Any] = {
            "gen_ai.operation.name": "chat",
            "gen_ai.request.model": model,
            "gen_ai.provider.name": model.split(":", 1)[0] if ":" in model else "langchain",
            "podium.role": str(meta.get(ROLE_KEY, "")),
        }
        for key, attr in (
            ("temperature", "gen_ai.request.temperature"),
            ("max_tokens", "gen_ai.request.max_tokens"),
            ("seed", "gen_ai.request.seed"),
        ):
            if isinstance(params.get(key), int | float):
                attrs[attr] = params[key]
        with self.lock:
            self.parents[run_id] = parent_run_id
            span = self.tracer.start_span(
                f"chat {short}", context=self._parent(parent_run_id), attributes=attrs
            )
            self.spans[run_id] = _Open(span, "model")

    def on_llm_end(self, response: Any, *, run_id: UUID, **kwargs: Any) -> None:
        with self.lock:
            opened = self.spans.pop(run_id, None)
        if opened is None:
            return
        tokens_in = tokens_out = 0
        for generations in getattr(response, "generations", []):
            for gen in generations:
                usage = getattr(getattr(gen, "message", None), "usage_metadata", None) or {}
                tokens_in += int(usage.get("input_tokens", 0))
                tokens_out += int(usage.get("output_tokens", 0))
        if not (tokens_in or tokens_out):
            usage = (getattr(response, "llm_output", None) or {}).get("token_usage") or {}
            tokens_in = int(usage.get("prompt_tokens", 0))
            tokens_out = int(usage.get("completion_tokens", 0))
        opened.span.set_attribute("gen_ai.usage.input_tokens", tokens_in)
        opened.span.set_attribute("gen_ai.usage.output_tokens", tokens_out)
        opened.span.end()

    def on_llm_error(self, error: BaseException, *, run_id: UUID, **kwargs: Any) -> None:
        self._fail(run_id, error)

    def _fail(self, run_id: UUID, error: BaseException) -> None:
        from opentelemetry.trace import Status, StatusCode

        with self.lock:
            opened = self.spans.pop(run_id, None)
        if opened is None:
            return
        opened.span.set_attribute("error.type", type(error).__name__)
        opened.span.set_status(Status(StatusCode.ERROR, str(error)[:500]))
        opened.span.end()

    def close_all(self) -> None:
        """End what a cut-off run left open (a timed-out step, an interrupt)."""
        with self.lock:
            left, self.spans = list(self.spans.values()), {}
        for opened in left:
            opened.span.set_attribute("podium.unfinished", True)
            opened.span.end()


def _node_attributes(span: Any, outputs: Mapping[str, Any]) -> None:
    """What a node's state update says: a step's outcome, the plan's size, the verdicts."""
    for sid, outcome in (outputs.get("results") or {}).items():
        if not isinstance(outcome, Mapping):
            continue
        span.set_attribute("podium.step_id", str(sid))
        span.set_attribute("podium.status", str(outcome.get("status", "")))
        span.set_attribute("podium.confidence", float(outcome.get("confidence") or 0.0))
        decision = (outcome.get("details") or {}).get("decision")
        if isinstance(decision, str):
            span.set_attribute("podium.decision", decision)
        if outcome.get("status") == "failed":
            from opentelemetry.trace import Status, StatusCode

            span.set_status(Status(StatusCode.ERROR, str(outcome.get("error") or "")[:500]))
    plan = outputs.get("plan")
    if isinstance(plan, Mapping):
        span.set_attribute("podium.plan.steps", len(plan.get("steps") or []))
    verdicts = outputs.get("verdicts")
    if verdicts:
        span.set_attribute(
            "podium.verdicts",
            [
                f"{v.get('guardian', '')}:{v.get('action', '')}"
                for v in verdicts
                if isinstance(v, Mapping)
            ],
        )
