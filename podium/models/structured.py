"""Structured output from any chat model, with one clear error path.

Local models decode under a grammar built from the schema (see ``local_llama``); remote models
use their native structured output; models without it are asked for JSON and parsed.
"""

from __future__ import annotations

import json
import re
from typing import Any, TypeVar

from langchain_core.language_models import BaseChatModel
from langchain_core.messages import BaseMessage, SystemMessage
from pydantic import BaseModel

from .provider import ModelProvider, as_model_unavailable

T = TypeVar("T", bound=BaseModel)
_JSON_BLOCK = re.compile(r"\{.*\}", re.S)


async def astructured(
    provider: ModelProvider,
    schema: type[T],
    messages: list[BaseMessage],
    *,
    model: Any = None,
    role: str = "planner",
) -> T:
    """Ask a model for an instance of ``schema``. Raises ValueError on unusable output and
    ModelUnavailable when the model cannot be reached."""
    base: BaseChatModel = provider.base_chat(model, role=role)
    try:
        try:
            runnable = base.with_structured_output(schema)
        except NotImplementedError:
            runnable = None
        if runnable is not None:
            result = await provider.tagged(runnable, model, role).ainvoke(messages)
            if isinstance(result, dict):
                result = schema.model_validate(result)
            if result is None:
                raise ValueError("the model returned no structured output")
            return result
        hint = SystemMessage(
            f"Reply with JSON only, matching this schema:\n{json.dumps(schema.model_json_schema())}"
        )
        reply = await provider.chat(model, role=role).ainvoke([*messages, hint])
        match = _JSON_BLOCK.search(str(reply.content))
        if not match:
            raise ValueError(f"the model replied without JSON: {str(reply.content)[:200]!r}")
        return schema.model_validate_json(match.group(0))
    except Exception as exc:
        unavailable = as_model_unavailable(exc, provider.label(model, role=role))
        if unavailable is not None:
            raise unavailable from exc
        raise
