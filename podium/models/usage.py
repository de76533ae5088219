"""Token and call accounting that expert authors never have to write.

Podium opens a :class:`UsageMeter` around every expert call and every planner/synthesizer
call. A LangChain configure hook attaches the meter's callback to *every* chat model invoked
in that context, so any LangChain model (local, OpenAI, Ollama, ...) reports its tokens, and
models handed out by :class:`~podium.models.provider.ModelProvider` also say which URI and
role (small/large) they are.
"""

from __future__ import annotations

import threading
import time
from contextvars import ContextVar
from typing import Any
from uuid import UUID

from langchain_core.callbacks import BaseCallbackHandler
from langchain_core.outputs import LLMResult
from langchain_core.tracers.context import register_configure_hook

ROLE_KEY = "podium_role"
URI_KEY = "podium_model"


class UsageMeter(BaseCallbackHandler):
    """Counts calls and tokens per model while it is the current meter."""

    run_inline = True

    def __init__(self) -> None:
        super().__init__()
        self.input_tokens = 0
        self.output_tokens = 0
        self.calls = 0
        self.large_calls = 0
        self.models: list[str] = []
        self._pending: dict[UUID, tuple[str, str]] = {}
        self._lock = threading.Lock()

    def on_chat_model_start(
        self, serialized: dict[str, Any], messages: Any, *, run_id: UUID, **kwargs: Any
    ) -> None:
        metadata = kwargs.get("metadata") or {}
        name = metadata.get(URI_KEY) or (serialized or {}).get("name", "model")
        with self._lock:
            self._pending[run_id] = (str(name), str(metadata.get(ROLE_KEY, "small")))

    def on_llm_end(self, response: LLMResult, *, run_id: UUID, **kwargs: Any) -> None:
        name, role = self._pending.pop(run_id, ("model", "small"))
        tokens_in = tokens_out = 0
        for generations in response.generations:
            for gen in generations:
                usage = getattr(getattr(gen, "message", None), "usage_metadata", None) or {}
                tokens_in += int(usage.get("input_tokens", 0))
                tokens_out += int(usage.get("output_tokens", 0))
        if not (tokens_in or tokens_out):
            usage = (response.llm_output or {}).get("token_usage") or {}
            tokens_in = int(usage.get("prompt_tokens", 0))
            tokens_out = int(usage.get("completion_tokens", 0))
        with self._lock:
            self.calls += 1
            self.large_calls += role != "small"
            self.input_tokens += tokens_in
            self.output_tokens += tokens_out
            if name not in self.models:
                self.models.append(name)

    def on_llm_error(self, error: BaseException, *, run_id: UUID, **kwargs: Any) -> None:
        self._pending.pop(run_id, None)

    def add(self, input_tokens: int, output_tokens: int, *, large: bool = False) -> None:
        """Count a call made elsewhere (e.g. an answer replayed from a cache)."""
        with self._lock:
            self.calls += 1
            self.large_calls += large
            self.input_tokens += input_tokens
            self.output_tokens += output_tokens


_current_meter: ContextVar[UsageMeter | None] = ContextVar("podium_usage_meter", default=None)
register_configure_hook(_current_meter, inheritable=True)


def current_meter() -> UsageMeter | None:
    """The meter of the enclosing :func:`metered` block, if any."""
    return _current_meter.get()


class metered:
    """Measure model usage and wall time of the enclosed block.

    Yields the meter and a dict that holds ``ms`` once the block ends. (A class, not a
    generator-based context manager: every step of every run opens one.)
    """

    __slots__ = ("_meter", "_start", "_timing", "_token")

    def __enter__(self) -> tuple[UsageMeter, dict[str, float]]:
        self._meter = UsageMeter()
        self._timing: dict[str, float] = {}
        self._token = _current_meter.set(self._meter)
        self._start = time.perf_counter()
        return self._meter, self._timing

    def __exit__(self, *exc: object) -> None:
        self._timing["ms"] = (time.perf_counter() - self._start) * 1000
        _current_meter.reset(self._token)
