"""The default orchestrate graph, and the pieces to build your own.

    guard_in -> followup -> plan -> dispatch --Send--> step --> dispatch
                           (a person must answer) -> approval (interrupt) --> dispatch
                           (when every step is done) -> synthesize -> guard_out -> END

``build_orchestrate_graph`` returns the *uncompiled* ``StateGraph`` so you can add nodes or
edges before compiling; :class:`podium.Podium` compiles it with its checkpointer.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, TypeAlias

from langgraph.graph import END, START, StateGraph

from podium.orchestrator.approval import approval_node
from podium.orchestrator.context import PodiumContext
from podium.orchestrator.dispatcher import dispatch_node, next_steps, step_node
from podium.orchestrator.followup import followup_node
from podium.orchestrator.guard import after_guard_in, guard_in_node, guard_out_node
from podium.orchestrator.planner import plan_node
from podium.orchestrator.state import RunState, StepTask
from podium.orchestrator.synthesizer import synthesize_node

Node = Callable[..., Any]
# What the graph builders return: run state in and out, a PodiumContext at run time.
OrchestrateGraph: TypeAlias = StateGraph[RunState, PodiumContext, RunState, RunState]


def build_orchestrate_graph(
    *,
    planner: Node = plan_node,
    step: Node = step_node,
    synthesizer: Node = synthesize_node,
) -> OrchestrateGraph:
    """The default graph. Swap a node by passing your own (same state in, update out)."""
    graph = StateGraph(RunState, context_schema=PodiumContext)
    graph.add_node("guard_in", guard_in_node)
    graph.add_node("followup", followup_node)  # a follow-up becomes a question of its own
    graph.add_node("plan", planner)
    graph.add_node("dispatch", dispatch_node)
    graph.add_node("step", step, input_schema=StepTask)
    graph.add_node("approval", approval_node)
    graph.add_node("synthesize", synthesizer)
    graph.add_node("guard_out", guard_out_node)
    graph.add_edge(START, "guard_in")
    graph.add_conditional_edges("guard_in", after_guard_in, {"plan": "followup", "end": END})
    graph.add_edge("followup", "plan")
    graph.add_edge("plan", "dispatch")
    graph.add_conditional_edges("dispatch", next_steps, ["step", "approval", "synthesize"])
    graph.add_edge("step", "dispatch")
    graph.add_edge("approval", "dispatch")
    graph.add_edge("synthesize", "guard_out")
    graph.add_edge("guard_out", END)
    return graph
