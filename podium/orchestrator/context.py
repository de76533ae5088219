"""The runtime context every node reads: which experts, which models, which workspace.

It travels as LangGraph's run context (``graph.ainvoke(..., context=ctx)``), not in the state,
so the same node functions work in any graph and with any workspace, and the checkpointed
state stays plain data.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from functools import cached_property
from typing import TYPE_CHECKING

from podium.experts.registry import ExpertRegistry
from podium.guardians import Guardian, InputLimits
from podium.models.provider import ModelProvider
from podium.workspace import LimitsSpec, Workspace

from .planner_cascade import CascadeSettings
from .semantic_router import RouterSettings, SemanticRouter
from .tiebreak import TieBreaker, small_model_tiebreaker

if TYPE_CHECKING:  # types only: importing them here would close an import cycle
    from podium.executors import Executor
    from podium.guardians.setup import Guards

    from .sources import DatabaseCard


@dataclass
class PodiumContext:
    registry: ExpertRegistry
    models: ModelProvider
    workspace: Workspace | None = None
    limits: LimitsSpec = field(default_factory=LimitsSpec)
    guardians: list[Guardian] = field(default_factory=list)
    semantic_check: bool = True
    router_settings: RouterSettings = field(default_factory=RouterSettings)
    # The planner cascade: the router plans the tasks it is sure of (see planner_cascade.py).
    cascade: CascadeSettings = field(default_factory=CascadeSettings)
    # Where expert calls run: None = in this process; otherwise an Executor
    # (``async arun(expert, request, ctx) -> ExpertResult``, e.g. Ray actors).
    executor: Executor | None = None
    # The guardians' policy, PII vault, document screen and audit log; None = only the
    # guardians listed above.
    guards: Guards | None = None

    def __post_init__(self) -> None:
        if not any(isinstance(g, InputLimits) for g in self.guardians):
            self.guardians.insert(0, InputLimits(self.limits.max_task_chars))

    @cached_property
    def planning_registry(self) -> ExpertRegistry:
        """The experts offered to the planner and the router: those this workspace can
        serve (no retrieval without documents, no nl2sql without a database)."""
        from .sources import offered_experts

        return offered_experts(self.registry, self.workspace)

    @cached_property
    def router(self) -> SemanticRouter:
        registry = self.planning_registry
        from .sources import stored_values_named

        hints = {exp.name: routing_hints(exp, self.workspace) for exp in registry}
        return SemanticRouter(
            self.models.embedder(),
            registry,
            hints,
            self.router_settings,
            stored_values=lambda text: stored_values_named(text, self.database_cards),
        )

    @cached_property
    def tiebreaker(self) -> TieBreaker | None:
        """The planner cascade's tie-breaker on the ``small`` model, or None when that model
        is not the one its threshold was fitted for (nothing is loaded until it is asked)."""
        return small_model_tiebreaker(self.models.roles, self.planning_registry)

    @cached_property
    def sources(self) -> str:
        """The workspace's databases and document folders, as the planner reads them."""
        from .sources import describe_sources

        return describe_sources(self.workspace)

    @cached_property
    def database_cards(self) -> list[DatabaseCard]:
        """What each database holds, for sending a step to the one it asks about."""
        from .sources import database_cards

        return database_cards(self.workspace)

    def workspace_changed(self) -> None:
        """Forget what was read from the workspace, after a database or documents were added
        or removed: the next plan describes, offers and routes to what is there now."""
        for name in ("planning_registry", "router", "tiebreaker", "sources", "database_cards"):
            self.__dict__.pop(name, None)

    def guardians_for(self, stage: str) -> list[Guardian]:
        return [g for g in self.guardians if stage in g.stages]


def routing_hints(expert: object, workspace: Workspace | None) -> list[str]:
    """Workspace-specific texts an expert offers for routing (table names, document titles)."""
    learned = list(getattr(expert, "learned_hints", ()))  # accepted clauses (podium learn)
    hinter = getattr(expert, "routing_hints", None)
    if callable(hinter) and workspace is not None:
        try:
            return list(hinter(workspace)) + learned
        except Exception:  # a hint is an optimisation; a broken one must not stop planning
            return learned
    return learned
