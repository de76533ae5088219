"""Mechanisms as nodes for your own LangGraph graphs.

    graph = StateGraph(MyState, context_schema=PodiumContext)
    graph.add_node("answer", collaboration_node("nl2sql", "vote",
                                                {"voters": ["nl2sql", "large"]},
                                                input_key="question", output_key="answer"))

The node reads ``state[input_key]``, runs the step's expert under the policy with the graph's
:class:`PodiumContext` (registry, models, workspace) and writes the result, as a JSON-ready
dict, to ``output_key``. Inside Podium's own graphs, give a plan step a ``policy`` instead.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Any

from langgraph.runtime import Runtime

from podium.experts.base import ExpertContext
from podium.orchestrator.policies import execute_step, step_policy

from .builtin import register_builtin_policies


def collaboration_node(
    expert: str,
    kind: str,
    options: dict[str, Any] | None = None,
    *,
    input_key: str = "task",
    output_key: str = "result",
) -> Callable[[dict[str, Any], Runtime[Any]], Awaitable[dict[str, Any]]]:
    register_builtin_policies()  # this node is where a user's own graph meets them
    policy = step_policy(kind, options)

    async def node(state: dict[str, Any], runtime: Runtime[Any]) -> dict[str, Any]:
        ctx = runtime.context
        exp = ctx.registry.get(expert)
        request = exp.parse_input(str(state[input_key]))
        ectx = ExpertContext(
            task=str(state[input_key]),
            step_id=output_key,
            workspace=getattr(ctx, "workspace", None),
            models=ctx.models,
        )
        result = await execute_step(exp, request, ectx, policy, ctx)
        return {output_key: result.model_dump(mode="json")}

    node.__name__ = f"{kind}_{expert}"
    return node
