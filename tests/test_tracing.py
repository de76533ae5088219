"""Every run is a trace: the span tree of a real two-step run, read back from the SDK's
in-memory exporter, and an OTLP export received by a receiver on loopback."""

from __future__ import annotations

import http.server
import threading
from collections.abc import Iterator
from typing import Any, ClassVar

import pytest
from opentelemetry.sdk.trace import TracerProvider
from opentelemetry.sdk.trace.export import SimpleSpanProcessor
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter

from podium import ExpertContext, Podium, expert, tracing
from podium.tracing import TracingSpec

from .scripted import RuleChatModel, plan_json


@expert
def ask_small(text: str, ctx: ExpertContext) -> str:
    """Asks the small model about something."""
    assert ctx.models is not None
    return str(ctx.models.chat(role="small").invoke(f"About {text}?").content)


def _planner(messages: list[Any]) -> str:
    if str(messages[0].content).startswith("You are the planner"):
        return plan_json(("s1", "ask_small", "tides"), ("s2", "ask_small", "moons", ["s1"]))
    return "Tides and moons, answered."


@pytest.fixture
def spans() -> Iterator[InMemorySpanExporter]:
    exporter = InMemorySpanExporter()
    provider = TracerProvider()
    provider.add_span_processor(SimpleSpanProcessor(exporter))
    tracing.configure(provider)
    yield exporter
    tracing.configure(None)


def _podium(workspace: Any) -> Podium:
    return Podium(
        planner=RuleChatModel(rule=_planner),
        small=RuleChatModel(rule=lambda m: f"small says: {m[-1].content}"),
        experts=[ask_small],
        workspace=workspace,
        builtins=False,
        plugins=False,
        warmup=False,
        semantic_check=False,
    )


def test_a_two_step_run_is_one_trace_with_nodes_steps_and_model_calls(workspace, spans) -> None:
    result = _podium(workspace).run("Tell me about tides, then moons")
    assert result.status == "done"
    finished = spans.get_finished_spans()
    by_id = {s.context.span_id: s for s in finished}
    [run] = [s for s in finished if s.name == "podium.run"]
    assert {s.context.trace_id for s in finished} == {run.context.trace_id}
    assert result.trace_id == format(run.context.trace_id, "032x")
    assert result.to_json_dict()["trace_id"] == result.trace_id
    assert run.attributes["podium.run_id"] == result.run_id
    assert run.attributes["podium.status"] == "done"

    def parent(span: Any) -> str:
        return by_id[span.parent.span_id].name if span.parent else ""

    children = sorted(s.name for s in finished if parent(s) == "podium.run")
    assert {
        "guard_in",
        "plan",
        "step s1 ask_small",
        "step s2 ask_small",
        "synthesize",
        "guard_out",
    } <= set(children)
    assert children.count("step s1 ask_small") == 1
    step = next(s for s in finished if s.name == "step s2 ask_small")
    assert step.attributes["podium.expert"] == "ask_small"
    assert step.attributes["podium.step_id"] == "s2"
    assert step.attributes["podium.status"] == "ok"
    assert step.attributes["gen_ai.operation.name"] == "execute_tool"

    chats = [s for s in finished if s.attributes.get("gen_ai.operation.name") == "chat"]
    assert {parent(s) for s in chats} == {
        "plan",
        "step s1 ask_small",
        "step s2 ask_small",
        "synthesize",
    }
    assert [parent(s) for s in chats].count("step s1 ask_small") == 1
    small = next(s for s in chats if parent(s) == "step s2 ask_small")
    assert small.attributes["podium.role"] == "small"
    assert small.attributes["gen_ai.request.model"]
    assert {"gen_ai.usage.input_tokens", "gen_ai.usage.output_tokens"} <= set(small.attributes)
    for s in finished:  # children start and end inside their parents
        if s.parent:
            assert by_id[s.parent.span_id].start_time <= s.start_time
            assert s.end_time <= by_id[s.parent.span_id].end_time


def test_without_tracing_a_run_has_no_trace_id_and_adds_no_callback(workspace) -> None:
    assert not tracing.enabled()
    result = _podium(workspace).run("Tell me about tides, then moons")
    assert result.status == "done" and result.trace_id is None
    assert tracing.start_run("r", "t") is None


class _Receiver(http.server.BaseHTTPRequestHandler):
    received: ClassVar[list[tuple[str, str, bytes]]] = []

    def do_POST(self) -> None:
        body = self.rfile.read(int(self.headers["Content-Length"]))
        self.received.append((self.path, self.headers["Content-Type"], body))
        self.send_response(200)
        self.send_header("Content-Type", "application/x-protobuf")
        self.end_headers()

    def log_message(self, *args: Any) -> None:
        pass


def test_an_otlp_export_reaches_a_receiver_on_loopback(workspace) -> None:
    from opentelemetry.proto.collector.trace.v1.trace_service_pb2 import (
        ExportTraceServiceRequest,
    )

    server = http.server.HTTPServer(("127.0.0.1", 0), _Receiver)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    endpoint = f"http://127.0.0.1:{server.server_port}/v1/traces"
    try:
        assert tracing.configure_from(TracingSpec(exporter="otlp", endpoint=endpoint), env={})
        result = _podium(workspace).run("Tell me about tides, then moons")
        assert tracing.flush()
    finally:
        tracing.configure(None)
        server.shutdown()
    assert _Receiver.received, "nothing reached the receiver"
    path, kind, _ = _Receiver.received[0]
    assert (path, kind) == ("/v1/traces", "application/x-protobuf")
    exported = [
        span
        for _, _, body in _Receiver.received
        for rs in ExportTraceServiceRequest.FromString(body).resource_spans
        for ss in rs.scope_spans
        for span in ss.spans
    ]
    assert {"podium.run", "plan", "step s1 ask_small", "synthesize"} <= {s.name for s in exported}
    assert {s.trace_id.hex() for s in exported} == {result.trace_id}
