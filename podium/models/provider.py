"""One place that turns a model URI (or a LangChain model object) into a model.

Models are created once per URI and tagged with their URI and role, so the usage meter can
say which model spent what and count calls to the large model.
"""

from __future__ import annotations

import os
import threading
from collections.abc import Callable
from pathlib import Path
from typing import Any

from langchain_core.language_models import BaseChatModel
from langchain_core.runnables import Runnable

from podium.errors import ConfigError, ModelUnavailable

from .embeddings import Embedder, load_embedder
from .uri import ModelURI, parse_model_uri
from .usage import ROLE_KEY, URI_KEY

ChatModelLike = str | BaseChatModel

# Remote calls give up quickly and say so, rather than hanging a run.
REMOTE_TIMEOUT_S = float(os.environ.get("PODIUM_REMOTE_TIMEOUT_S", "120"))


def create_chat_model(uri: str, **options: Any) -> BaseChatModel:
    """Build the LangChain chat model a URI names. Nothing is contacted yet."""
    parsed = parse_model_uri(uri)
    if parsed.scheme == "local":
        return _local_chat(parsed, **options)
    if parsed.scheme == "openai":
        if not os.environ.get("OPENAI_API_KEY"):
            raise ModelUnavailable(
                f"{uri} needs an OpenAI API key",
                hint="export OPENAI_API_KEY=..., or use local:qwen2.5-coder-1.5b to stay offline",
            )
        from langchain_openai import ChatOpenAI

        return ChatOpenAI(model=parsed.name, timeout=REMOTE_TIMEOUT_S, max_retries=1, **options)
    if parsed.scheme == "openai-compatible":
        from langchain_openai import ChatOpenAI

        return ChatOpenAI(
            model=parsed.name,
            base_url=parsed.base_url,
            api_key=os.environ.get("PODIUM_OPENAI_COMPATIBLE_KEY")
            or os.environ.get("OPENAI_API_KEY")
            or "not-needed",
            timeout=REMOTE_TIMEOUT_S,
            max_retries=1,
            **options,
        )
    if parsed.scheme == "ollama":
        from langchain_ollama import ChatOllama

        base = os.environ.get("OLLAMA_HOST", "http://127.0.0.1:11434")
        return ChatOllama(model=parsed.name, base_url=base, **options)
    raise ConfigError(f"unsupported model URI {uri!r}")  # parse_model_uri already checked


def _local_chat(parsed: ModelURI, **options: Any) -> BaseChatModel:
    from .catalog import card
    from .files import model_path
    from .local_llama import ChatLlamaCpp

    if parsed.name.endswith(".gguf"):
        path = Path(parsed.name).expanduser()
        n_ctx = 8192
    else:
        entry = card(parsed.name)
        if entry.kind != "chat":
            raise ConfigError(
                f"local:{parsed.name} is an embedding model, not a chat model",
                hint="use local:qwen2.5-coder-1.5b (or local:smollm2) for generative roles",
            )
        path = model_path(entry, progress=_assembly_progress(entry.title))
        n_ctx = min(8192, entry.context)
    options.setdefault("n_ctx", n_ctx)
    model = ChatLlamaCpp(model_path=str(path), model_name=str(parsed), **options)
    _ = model.loaded  # fail now, with the fix in the message, if the file cannot load
    return model


def _assembly_progress(title: str) -> Callable[[int, int], None]:
    """A progress bar on stderr while a split model is assembled (first use only)."""
    from rich.progress import Progress

    state: dict[str, Any] = {}

    def update(done: int, total: int) -> None:
        if "bar" not in state:
            bar = Progress(transient=True)
            bar.start()
            state["bar"] = bar
            state["task"] = bar.add_task(f"assembling {title}", total=total)
        state["bar"].update(state["task"], completed=done)
        if done >= total:
            state["bar"].stop()

    return update


def model_label(model: ChatModelLike) -> str:
    """A short name for a model, for events and the ledger."""
    if isinstance(model, str):
        return model
    for attr in ("model_name", "model"):
        value = getattr(model, attr, None)
        if isinstance(value, str) and value:
            return value
    return type(model).__name__


def is_local(model: ChatModelLike) -> bool:
    """Whether prompts to this model stay in this process (matters for PII policy)."""
    if isinstance(model, str):
        return parse_model_uri(model).is_local
    from .local_llama import ChatLlamaCpp

    return isinstance(model, ChatLlamaCpp)


class ModelProvider:
    """Resolves and caches models for one Podium instance.

    ``roles`` maps role names (planner, synthesizer, large, embeddings) to URIs or objects.
    ``outbound`` wraps every model that is not local (e.g. the guardians' PII vault, so no
    raw personal data leaves the process); local models are used as they are.
    """

    def __init__(
        self,
        roles: dict[str, ChatModelLike] | None = None,
        outbound: Callable[[BaseChatModel], BaseChatModel] | None = None,
    ) -> None:
        self.roles: dict[str, ChatModelLike] = dict(roles or {})
        self.outbound = outbound
        self._chat: dict[str, BaseChatModel] = {}
        self._wrapped: dict[int, tuple[BaseChatModel, BaseChatModel]] = {}
        self._lock = threading.Lock()
        self._default_roles: dict[str, str] | None = None

    def chat(
        self, model: ChatModelLike | None = None, *, role: str = "small"
    ) -> Runnable[Any, Any]:
        """A chat model (by URI, object or role name), tagged for usage accounting."""
        return self.base_chat(model, role=role).with_config(
            metadata={URI_KEY: self.label(model, role=role), ROLE_KEY: role}
        )

    def base_chat(
        self, model: ChatModelLike | None = None, *, role: str = "small"
    ) -> BaseChatModel:
        """The model object itself (for ``with_structured_output`` and ``bind``)."""
        target = self._target(model, role)
        with self._lock:
            if not isinstance(target, str):
                return self._outbound(target)
            if target not in self._chat:
                self._chat[target] = self._outbound(create_chat_model(target))
            return self._chat[target]

    def _outbound(self, model: BaseChatModel) -> BaseChatModel:
        if self.outbound is None or is_local(model):
            return model
        kept = self._wrapped.get(id(model))
        if kept is None or kept[0] is not model:
            kept = self._wrapped[id(model)] = (model, self.outbound(model))
        return kept[1]

    def tagged(
        self, runnable: Runnable[Any, Any], model: ChatModelLike | None, role: str
    ) -> Runnable[Any, Any]:
        """Tag a runnable built on a model (e.g. structured output) for usage accounting."""
        return runnable.with_config(
            metadata={URI_KEY: self.label(model, role=role), ROLE_KEY: role}
        )

    def embedder(self, uri: str | None = None) -> Embedder:
        target = uri or self.roles.get("embeddings") or "local:minilm"
        if not isinstance(target, str):
            raise ConfigError("embeddings must be given as a URI (local:minilm or a model path)")
        return load_embedder(target)

    def label(self, model: ChatModelLike | None = None, *, role: str = "small") -> str:
        return model_label(self._target(model, role))

    def _defaults(self) -> dict[str, str]:
        """What this machine has for each role, looked up once per provider (not per call)."""
        if self._default_roles is None:
            from .roles import default_roles

            self._default_roles = default_roles()
        return self._default_roles

    def _target(self, model: ChatModelLike | None, role: str) -> ChatModelLike:
        if model is None:
            # A role the caller did not fill goes to what this machine has for it (the ladder
            # when installed, else SmolLM2): experts draft with `small`, not with the planner.
            model = self.roles.get(role) or self._defaults().get(role) or "local:smollm2"
        elif isinstance(model, str) and model in self.roles:
            model = self.roles[model]
        return model


def as_model_unavailable(exc: BaseException, label: str) -> ModelUnavailable | None:
    """Translate connection-level failures of any backend into one clear error."""
    names = {type(e).__name__ for e in _chain(exc)}
    connection = {
        "APIConnectionError",
        "ConnectError",
        "ConnectionError",
        "ConnectTimeout",
        "ConnectionRefusedError",
        "APITimeoutError",
        "ReadTimeout",
    }
    if names & connection:
        return ModelUnavailable(
            f"model {label} is unreachable ({type(exc).__name__})",
            hint="is the server running and the URL right? offline: --planner local:smollm2",
        )
    if "AuthenticationError" in names:
        return ModelUnavailable(f"model {label} refused the API key", hint="check the key")
    if {"InternalServerError", "APIStatusError", "ServiceUnavailableError"} & names:
        return ModelUnavailable(f"model {label} answered with a server error: {exc}")
    return None


def _chain(exc: BaseException) -> list[BaseException]:
    out: list[BaseException] = []
    cur: BaseException | None = exc
    while cur is not None and cur not in out:
        out.append(cur)
        cur = cur.__cause__ or cur.__context__
    return out
