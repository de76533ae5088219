"""What the offline ladder has on this machine: each catalogue model, whether it is installed
and verified, and which roles a run (in a workspace, or with the defaults) gives it."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from .catalog import CATALOGUE
from .files import status
from .roles import default_roles

if TYPE_CHECKING:
    from podium.workspace import Workspace


def workspace_roles(workspace: Workspace | None) -> dict[str, str]:
    """Role → URI as a run in this workspace would resolve it."""
    roles = default_roles()
    if workspace is not None:
        cfg = workspace.config.models
        planner = cfg.planner or roles["planner"]
        roles.update(
            planner=planner,
            synthesizer=cfg.synthesizer or planner,
            large=cfg.large or planner,
            small=cfg.small or roles["small"],
            embeddings=cfg.embeddings or roles["embeddings"],
        )
    return roles


def model_rows(workspace: Workspace | None = None) -> list[dict[str, Any]]:
    """One record per catalogue model: installed, verified, size, licence, roles it fills."""
    roles = workspace_roles(workspace)
    rows = []
    for card in CATALOGUE.values():
        st = status(card)
        rows.append(
            {
                "uri": card.uri,
                "title": card.title,
                "kind": card.kind,
                "installed": st.installed,
                "verified": st.verified,
                "size": st.size if st.size is not None else card.size,
                "sha256": card.sha256,
                "licence": card.licence,
                "context": card.context,
                "path": st.path,
                "roles": sorted(r for r, uri in roles.items() if uri == card.uri),
                "install": card.install_command(),
            }
        )
    return rows
