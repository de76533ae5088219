"""Scripted chat models for deterministic graph tests (the planner's replies are given)."""

from __future__ import annotations

import asyncio
import json
from typing import Any

from langchain_core.language_models import BaseChatModel
from langchain_core.language_models.fake_chat_models import GenericFakeChatModel
from langchain_core.messages import AIMessage, BaseMessage
from langchain_core.outputs import ChatGeneration, ChatResult

from podium import expert


def plan_json(*steps: tuple[str, str, str] | tuple[str, str, str, list[str]]) -> str:
    """A planner reply: steps as (id, expert, input[, depends_on])."""
    return json.dumps(
        {
            "steps": [
                {
                    "id": s[0],
                    "expert": s[1],
                    "input": s[2],
                    "depends_on": s[3] if len(s) > 3 else [],
                }
                for s in steps
            ]
        }
    )


def scripted(*replies: str) -> GenericFakeChatModel:
    """A chat model that answers with ``replies`` in order (planner, then synthesizer)."""
    return GenericFakeChatModel(messages=iter([AIMessage(r) for r in replies]))


class RuleChatModel(BaseChatModel):
    """A chat model whose reply is computed from the messages (for concurrent scripted runs)."""

    rule: Any

    @property
    def _llm_type(self) -> str:
        return "rule"

    def _generate(
        self, messages: list[BaseMessage], stop: Any = None, run_manager: Any = None, **kwargs: Any
    ) -> ChatResult:
        return ChatResult(generations=[ChatGeneration(message=AIMessage(self.rule(messages)))])


@expert
async def echo(text: str) -> str:
    """Echoes its input after yielding to other runs."""
    await asyncio.sleep(0.01)
    return f"echo {text}"


def echo_twice(messages: list[Any]) -> str:
    """A RuleChatModel rule: plan two ``echo`` steps on the task, then list their results."""
    if str(messages[0].content).startswith("You are the planner"):
        task = next(str(m.content) for m in reversed(messages) if m.type == "human")
        return plan_json(("s1", "echo", task), ("s2", "echo", f"{task} again"))
    return "Results: " + str(messages[-1].content).split("Results:", 1)[-1].strip()
