"""The reversible PII vault: personal data is replaced by stable placeholders before a text
leaves for a remote model, and put back when the reply comes home.

    vault = Vault()
    out = vault.redact("Mail jane.doe@example.com about IBAN DE89370400440532013000")
    # 'Mail <EMAIL_ADDRESS_1> about IBAN <IBAN_CODE_1>'
    vault.restore(reply)   # the real values again, only in this process

:class:`VaultedChatModel` wraps any LangChain chat model so that every call through it
(plain, streamed, with tools or structured output) is redacted on the way out and restored
on the way back. ``ModelProvider(outbound=...)`` wraps each remote model with it.
"""

from __future__ import annotations

import re
import threading
from collections import OrderedDict
from collections.abc import AsyncIterator, Callable, Iterator
from typing import Any

from langchain_core.callbacks import AsyncCallbackManagerForLLMRun, CallbackManagerForLLMRun
from langchain_core.language_models import BaseChatModel
from langchain_core.messages import AIMessage, AIMessageChunk, BaseMessage
from langchain_core.outputs import ChatGeneration, ChatGenerationChunk, ChatResult
from langchain_core.runnables import Runnable, RunnableBinding, RunnableSequence
from pydantic import BaseModel, ConfigDict, Field

from .pii import Span

_TOKEN = re.compile(r"<([A-Z_]+)_(\d+)>")
_PARTIAL = re.compile(r"<[A-Z_]*\d*$")

Finder = Callable[[str], list[Span]]


class Vault:
    """Maps personal values to placeholders and back. Thread-safe; lives in this process."""

    def __init__(self, find: Finder | None = None, cache_size: int = 512) -> None:
        self._find = find
        self._by_value: dict[tuple[str, str], str] = {}
        self._by_token: dict[str, str] = {}
        self._counts: dict[str, int] = {}
        self._lock = threading.Lock()
        self._cache: OrderedDict[str, str] = OrderedDict()
        self._cache_size = cache_size

    @property
    def find(self) -> Finder:
        if self._find is None:
            from .pii import PIIDetector

            self._find = PIIDetector.shared().find
        return self._find

    def placeholder(self, kind: str, value: str) -> str:
        """The same value always gets the same placeholder."""
        key = (kind, value)
        with self._lock:
            token = self._by_value.get(key)
            if token is None:
                self._counts[kind] = self._counts.get(kind, 0) + 1
                token = f"<{kind}_{self._counts[kind]}>"
                self._by_value[key] = token
                self._by_token[token] = value
            return token

    def redact(self, text: str) -> str:
        if not text or not text.strip():
            return text
        with self._lock:
            if text in self._cache:
                self._cache.move_to_end(text)
                return self._cache[text]
        out = text
        for span in reversed(self.find(text)):
            if _TOKEN.fullmatch(span.text):
                continue
            out = out[: span.start] + self.placeholder(span.kind, span.text) + out[span.end :]
        with self._lock:
            self._cache[text] = out
            if len(self._cache) > self._cache_size:
                self._cache.popitem(last=False)
        return out

    def restore(self, text: str) -> str:
        return _TOKEN.sub(lambda m: self._by_token.get(m.group(0), m.group(0)), text)

    def restore_any(self, value: Any) -> Any:
        """Restore placeholders inside strings, lists and dicts (tool-call arguments)."""
        if isinstance(value, str):
            return self.restore(value)
        if isinstance(value, list):
            return [self.restore_any(v) for v in value]
        if isinstance(value, dict):
            return {k: self.restore_any(v) for k, v in value.items()}
        if isinstance(value, BaseModel):  # structured output parsed by the client
            return type(value).model_validate(self.restore_any(value.model_dump()))
        return value

    def values(self) -> list[str]:
        with self._lock:
            return list(self._by_token.values())


class _StreamRestorer:
    """Restores placeholders in a stream whose chunks may cut a placeholder in two."""

    def __init__(self, vault: Vault) -> None:
        self.vault = vault
        self.pending = ""

    def feed(self, piece: str) -> str:
        text = self.pending + piece
        tail = _PARTIAL.search(text)
        cut = tail.start() if tail and len(text) - tail.start() < 48 else len(text)
        self.pending = text[cut:]
        return self.vault.restore(text[:cut])

    def flush(self) -> str:
        text, self.pending = self.pending, ""
        return self.vault.restore(text)


class VaultedChatModel(BaseChatModel):
    """A chat model that never sends raw personal data to ``inner``."""

    model_config = ConfigDict(arbitrary_types_allowed=True)

    inner: BaseChatModel
    vault: Vault
    model_name: str = Field(default="", description="The inner model's label (for accounting).")

    @property
    def _llm_type(self) -> str:
        return "podium-vaulted"

    # -- messages ---------------------------------------------------------------------

    def _redact(self, messages: list[BaseMessage]) -> list[BaseMessage]:
        out = []
        for m in messages:
            content: Any = m.content
            if isinstance(content, str):
                content = self.vault.redact(content)
            elif isinstance(content, list):
                content = [
                    {**p, "text": self.vault.redact(p["text"])}
                    if isinstance(p, dict) and isinstance(p.get("text"), str)
                    else self.vault.redact(p)
                    if isinstance(p, str)
                    else p
                    for p in content
                ]
            out.append(m.model_copy(update={"content": content}))
        return out

    def _restore(self, result: ChatResult) -> ChatResult:
        generations = []
        for g in result.generations:
            msg = g.message
            update: dict[str, Any] = {"content": self.vault.restore_any(msg.content)}
            if isinstance(msg, AIMessage) and msg.tool_calls:
                update["tool_calls"] = [
                    {**tc, "args": self.vault.restore_any(tc["args"])} for tc in msg.tool_calls
                ]
            if msg.additional_kwargs:
                update["additional_kwargs"] = self.vault.restore_any(msg.additional_kwargs)
            restored = msg.model_copy(update=update)
            generations.append(ChatGeneration(message=restored, generation_info=g.generation_info))
        return ChatResult(generations=generations, llm_output=result.llm_output)

    # -- calls ------------------------------------------------------------------------

    def _generate(
        self,
        messages: list[BaseMessage],
        stop: list[str] | None = None,
        run_manager: CallbackManagerForLLMRun | None = None,
        **kwargs: Any,
    ) -> ChatResult:
        return self._restore(self.inner._generate(self._redact(messages), stop=stop, **kwargs))

    async def _agenerate(
        self,
        messages: list[BaseMessage],
        stop: list[str] | None = None,
        run_manager: AsyncCallbackManagerForLLMRun | None = None,
        **kwargs: Any,
    ) -> ChatResult:
        result = await self.inner._agenerate(self._redact(messages), stop=stop, **kwargs)
        return self._restore(result)

    def _streams(self) -> bool:
        cls = type(self.inner)
        return (
            cls._stream is not BaseChatModel._stream or cls._astream is not BaseChatModel._astream
        )

    def _stream(
        self,
        messages: list[BaseMessage],
        stop: list[str] | None = None,
        run_manager: CallbackManagerForLLMRun | None = None,
        **kwargs: Any,
    ) -> Iterator[ChatGenerationChunk]:
        if not self._streams():
            result = self._generate(messages, stop=stop, **kwargs)
            yield _as_chunk(result)
            return
        restorer = _StreamRestorer(self.vault)
        for chunk in self.inner._stream(self._redact(messages), stop=stop, **kwargs):
            yield _rewrite(chunk, restorer.feed(str(chunk.message.content)))
        yield ChatGenerationChunk(message=AIMessageChunk(content=restorer.flush()))

    async def _astream(
        self,
        messages: list[BaseMessage],
        stop: list[str] | None = None,
        run_manager: AsyncCallbackManagerForLLMRun | None = None,
        **kwargs: Any,
    ) -> AsyncIterator[ChatGenerationChunk]:
        if not self._streams():
            result = await self._agenerate(messages, stop=stop, **kwargs)
            yield _as_chunk(result)
            return
        restorer = _StreamRestorer(self.vault)
        async for chunk in self.inner._astream(self._redact(messages), stop=stop, **kwargs):
            yield _rewrite(chunk, restorer.feed(str(chunk.message.content)))
        yield ChatGenerationChunk(message=AIMessageChunk(content=restorer.flush()))

    # -- tools and structured output keep the inner model's own way of doing them -----

    def bind_tools(self, tools: Any, **kwargs: Any) -> Runnable[Any, Any]:
        bound = self.inner.bind_tools(tools, **kwargs)
        if isinstance(bound, RunnableBinding) and bound.bound is self.inner:
            return self.bind(**bound.kwargs)
        return super().bind_tools(tools, **kwargs)

    def with_structured_output(self, schema: Any, **kwargs: Any) -> Runnable[Any, Any]:
        return _rebind(self.inner.with_structured_output(schema, **kwargs), self.inner, self)


def _rebind(runnable: Runnable[Any, Any], inner: BaseChatModel, outer: VaultedChatModel) -> Any:
    """The same runnable with every direct use of ``inner`` routed through ``outer``."""
    if runnable is inner:
        return outer
    if isinstance(runnable, RunnableBinding):
        bound = _rebind(runnable.bound, inner, outer)
        if bound is runnable.bound:
            return runnable
        return RunnableBinding(
            bound=bound,
            kwargs=runnable.kwargs,
            config=runnable.config,
            config_factories=runnable.config_factories,
            custom_input_type=runnable.custom_input_type,
            custom_output_type=runnable.custom_output_type,
        )
    if isinstance(runnable, RunnableSequence):
        steps = [_rebind(s, inner, outer) for s in runnable.steps]
        return RunnableSequence(*steps, name=runnable.name)
    return runnable


def _rewrite(chunk: ChatGenerationChunk, text: str) -> ChatGenerationChunk:
    msg = chunk.message.model_copy(update={"content": text})
    return ChatGenerationChunk(message=msg, generation_info=chunk.generation_info)


def _as_chunk(result: ChatResult) -> ChatGenerationChunk:
    msg = result.generations[0].message
    return ChatGenerationChunk(
        message=AIMessageChunk(
            content=msg.content,
            tool_calls=getattr(msg, "tool_calls", []) or [],
            usage_metadata=getattr(msg, "usage_metadata", None),
        )
    )


def vaulted(vault: Vault) -> Callable[[BaseChatModel], BaseChatModel]:
    """The hook ``ModelProvider(outbound=...)`` takes: wrap a remote model with the vault."""
    from podium.models.provider import model_label

    def wrap(model: BaseChatModel) -> BaseChatModel:
        if isinstance(model, VaultedChatModel):
            return model
        return VaultedChatModel(inner=model, vault=vault, model_name=model_label(model))

    return wrap
