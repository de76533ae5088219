"""What learning needs of a Podium, as an interface: the runner calls learning after each run,
so learning must not import the runner back (not even for its types)."""

from __future__ import annotations

from typing import TYPE_CHECKING, Protocol

if TYPE_CHECKING:
    from podium.experts.registry import ExpertRegistry
    from podium.guardians import Guardian
    from podium.memory.store import RunStore
    from podium.models.provider import ModelProvider
    from podium.orchestrator.context import PodiumContext
    from podium.workspace import Workspace


class LearningHost(Protocol):
    """The parts of :class:`podium.Podium` that harvesting and ``podium learn`` use."""

    store: RunStore | None
    registry: ExpertRegistry
    workspace: Workspace
    models: ModelProvider
    guardians: list[Guardian]

    @property
    def context(self) -> PodiumContext: ...
