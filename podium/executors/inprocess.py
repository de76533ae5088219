"""The default executor: the expert runs in this process, on this event loop."""

from __future__ import annotations

from pydantic import BaseModel

from podium.experts.base import Expert, ExpertContext, ExpertResult


class InProcessExecutor:
    """Call the expert here. Same behaviour as having no executor; useful as a baseline."""

    async def arun(self, expert: Expert, request: BaseModel, ctx: ExpertContext) -> ExpertResult:
        return await expert.arun(request, ctx)

    def close(self) -> None:
        """Nothing to release."""

    def __repr__(self) -> str:
        return "<InProcessExecutor>"
