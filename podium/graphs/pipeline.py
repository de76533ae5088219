"""Fixed pipelines: the same nodes, events and store as the default graph, with a plan you
write instead of one the planner proposes.

    wf = pipeline("retrieval", ("fact_check", "Is it true that {task}? Evidence: {s1}"))
    Podium(workflow=wf).run("the Earth is warming")

Each stage is an expert name, or ``(expert, input template)``; templates may use ``{task}``
and ``{sN}`` (the output of step N). A stage depends on the one before it unless you say
``parallel=True``, in which case all stages run at once.
"""

from __future__ import annotations

from collections.abc import Collection
from typing import Any

from langgraph.runtime import Runtime

from podium.errors import PlanError
from podium.orchestrator.context import PodiumContext
from podium.orchestrator.events import PlanReady, emit
from podium.orchestrator.plan import Plan, Step, validate_plan
from podium.orchestrator.state import RunState

from .default import OrchestrateGraph, build_orchestrate_graph

Stage = str | tuple[str, str]


def fixed_plan(*stages: Stage, parallel: bool = False, approve: Collection[str] = ()) -> Any:
    """A ``plan`` node that always returns the same plan, filled with the task.

    ``approve`` names steps (``"s2"``) or experts (``"nl2sql"``) a person must approve
    before they run."""
    if not stages:
        raise PlanError("a pipeline needs at least one stage")

    async def plan_node(state: RunState, runtime: Runtime[PodiumContext]) -> dict[str, Any]:
        steps = []
        for i, stage in enumerate(stages, 1):
            expert, template = (stage, "{task}") if isinstance(stage, str) else stage
            text = template.replace("{task}", state["task"])
            referenced = [f"s{k}" for k in range(1, i) if f"{{s{k}}}" in text]
            previous = [] if parallel or i == 1 else [f"s{i - 1}"]
            deps = sorted(set(previous + referenced))
            ask = f"s{i}" in approve or expert in approve
            steps.append(Step(id=f"s{i}", expert=expert, input=text, depends_on=deps, approve=ask))
        plan = Plan(steps=steps, notes=["fixed pipeline"])
        problems = validate_plan(plan, runtime.context.registry.names(), max_steps=64)
        if problems:
            raise PlanError("the pipeline is invalid: " + "; ".join(problems))
        emit(PlanReady(run_id=state["run_id"], plan=plan.model_dump(mode="json")))
        return {"plan": plan.model_dump(mode="json")}

    return plan_node


def pipeline(
    *stages: Stage, parallel: bool = False, approve: Collection[str] = ()
) -> OrchestrateGraph:
    """A graph that runs ``stages`` in order (or all at once), then synthesizes and guards."""
    return build_orchestrate_graph(planner=fixed_plan(*stages, parallel=parallel, approve=approve))
