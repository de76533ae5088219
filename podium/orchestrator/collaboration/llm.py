"""The large model as an expert: what cascades escalate to, verifiers consult and
draft→finalise hands drafts to.

It answers a step's text with the model of the workspace's ``large`` role (offline: the
embedded model; in production an ``openai-compatible:`` URI). With ``choices`` its answer is
constrained to one of them (a grammar for local models; the closest choice for remote ones).
It reads ``ctx.options``: ``hints`` (a list of :class:`SLMHint`), ``use_hints`` (default
True), ``draft`` and ``feedback`` (from draft→finalise or a disagreeing verifier), and
``choices`` (per-request choices, e.g. candidate columns, overriding the constructor's).

Its confidence is a documented constant (``confidence``, default 0.7): the large model gives
no usable probability offline, and mechanisms treat its answer as the escalation of last
resort rather than ranking it by confidence.
"""

from __future__ import annotations

import difflib
from collections.abc import Sequence
from typing import Any

from langchain_core.messages import BaseMessage, HumanMessage, SystemMessage
from pydantic import BaseModel

from podium.errors import ConfigError
from podium.experts.base import Expert, ExpertContext, ExpertResult, TextRequest, primary_text_field
from podium.models.local_llama import ChatLlamaCpp

from .hints import SLMHint, with_hints

SYSTEM = "You are a careful expert. Answer the task directly and briefly."


def choice_grammar(choices: Sequence[str]) -> str:
    """A GBNF grammar that admits exactly one of ``choices``."""
    alts = " | ".join('"' + c.replace("\\", "\\\\").replace('"', '\\"') + '"' for c in choices)
    return f"root ::= {alts}"


def closest_choice(text: str, choices: Sequence[str]) -> str:
    """The choice a free-text reply names (first mention, else the most similar)."""
    low = text.lower()
    hits = [(low.find(c.lower()), -len(c), c) for c in choices if c.lower() in low]
    if hits:
        return min(hits)[2]
    return max(choices, key=lambda c: difflib.SequenceMatcher(None, low, c.lower()).ratio())


class LargeModelExpert(Expert):
    name = "large_model"
    description = (
        "Answers any subtask with the large language model; used when small experts are "
        "unsure (cascade), to verify them, or to finalise their drafts."
    )
    input_model = TextRequest

    def __init__(
        self,
        model: Any = None,
        *,
        role: str = "large",
        choices: Sequence[str] | None = None,
        system: str = SYSTEM,
        max_tokens: int = 256,
        confidence: float = 0.7,
        name: str | None = None,
    ) -> None:
        self.model = model
        self.role = role
        self.choices = list(choices) if choices else None
        self.system = system
        self.max_tokens = max_tokens
        self.confidence = confidence
        if name:
            self.name = name  # type: ignore[misc]

    def _choices(self, ctx: ExpertContext) -> list[str] | None:
        return list(ctx.options.get("choices") or self.choices or []) or None

    def prompt(self, request: BaseModel, ctx: ExpertContext) -> list[BaseMessage]:
        field = primary_text_field(type(request)) or "text"
        task = str(getattr(request, field, "") or request.model_dump_json())
        options = ctx.options
        if options.get("draft") is not None:
            task += f"\n\nA draft answer: {options['draft']}"
        if options.get("feedback"):
            task += f"\nWhat is wrong with it: {options['feedback']}\nGive a corrected answer."
        hints: list[SLMHint] = [SLMHint.model_validate(h) for h in options.get("hints", [])]
        task = with_hints(task, hints, enabled=bool(options.get("use_hints", True)))
        choices = self._choices(ctx)
        if choices:
            task += "\n\nAnswer with exactly one of: " + ", ".join(choices) + "."
        return [SystemMessage(self.system), HumanMessage(task)]

    async def arun(self, request: BaseModel, ctx: ExpertContext) -> ExpertResult:
        if ctx.models is None:
            raise ConfigError("the large-model expert needs a model provider (ctx.models)")
        base = ctx.models.base_chat(self.model, role=self.role)
        options: dict[str, Any] = {}
        if isinstance(base, ChatLlamaCpp):
            options = {"max_tokens": self.max_tokens, "temperature": 0.0}
            choices = self._choices(ctx)
            if choices:
                options["grammar"] = choice_grammar(choices)
        model = ctx.models.tagged(base.bind(**options) if options else base, self.model, self.role)
        reply = await model.ainvoke(self.prompt(request, ctx))
        text = str(reply.content).strip()
        choices = self._choices(ctx)
        output = closest_choice(text, choices) if choices else text
        return ExpertResult(output=output, summary=output, confidence=self.confidence)
