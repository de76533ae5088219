"""Define a workflow in Python: Podium's nodes plus your own, in a LangGraph graph.

Two ways, both with the same events, store and CLI as the default graph:

1. a fixed pipeline (no planner): ``pipeline(...)``;
2. your own graph: take the default one and add a node of yours.

    python examples/custom_workflow.py
    podium run "What does the warranty cover?" --workflow examples.custom_workflow:docs_then_check
"""

from __future__ import annotations

from typing import Any

from langgraph.graph import END

from podium import Podium
from podium.graphs import build_orchestrate_graph, pipeline
from podium.orchestrator.events import ExpertNote, emit
from podium.orchestrator.state import RunState


def docs_then_check():
    """Retrieve passages, then ask nl2sql for the related numbers: a fixed two-step pipeline."""
    return pipeline(
        ("retrieval", "{task}"),
        ("nl2sql", "How many orders have status returned?"),
        parallel=True,
    )


def with_audit_note():
    """The default graph with one extra node of ours after guard_out."""

    def audit(state: RunState) -> dict[str, Any]:
        failed = [s for s, r in state.get("results", {}).items() if r["status"] != "ok"]
        emit(ExpertNote(run_id=state["run_id"], kind="audit", data={"failed_steps": failed}))
        return {}

    graph = build_orchestrate_graph()
    graph.add_node("audit", audit)
    # Re-route the end of the graph through our node.
    graph.edges.discard(("guard_out", END))
    graph.add_edge("guard_out", "audit")
    graph.add_edge("audit", END)
    return graph


if __name__ == "__main__":
    result = Podium(workflow=docs_then_check()).run("What is the return policy for damaged items?")
    print(result.answer)
    result = Podium(workflow=with_audit_note()).run("How many customers are in the gold segment?")
    print([e for e in result.events if e["type"] == "expert_note"])
