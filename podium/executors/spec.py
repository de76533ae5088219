"""Where expert calls run, as configuration: ``[executor]`` in ``podium.toml``.

    [executor]
    kind = "ray"          # "inprocess" (default) or "ray"
    address = "auto"      # "" starts a local Ray here; "auto" joins the local cluster;
                          # "ray://head:10001" a remote one
    replicas = 2          # Ray actors per expert; requests go to the least busy one

``executor = "ray"`` on its own is short for ``[executor] kind = "ray"``.
"""

from __future__ import annotations

from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, model_validator


class ExecutorSpec(BaseModel):
    """How and where a Podium runs its expert calls."""

    model_config = ConfigDict(extra="forbid")

    kind: Literal["inprocess", "ray"] = Field(
        default="inprocess", description="inprocess: in this process (default); ray: Ray actors."
    )
    address: str = Field(
        default="",
        description="Ray cluster address. '' starts a small local Ray inside this process "
        "(local_cpus CPUs, no dashboard); 'auto' joins a cluster started with `ray start`; "
        "'ray://host:10001' connects to a remote cluster through Ray Client.",
    )
    replicas: int = Field(default=1, ge=1, le=256, description="Actors per expert.")
    num_cpus: float | None = Field(
        default=None,
        ge=0,
        description="CPUs each actor reserves (Ray's default when unset: 1 to place, 0 to run).",
    )
    concurrency: int = Field(
        default=1,
        ge=1,
        description="Calls one actor serves at once. 1 suits a model that computes on the CPU; "
        "raise it for experts that mostly wait on a remote model server.",
    )
    max_restarts: int = Field(
        default=3, ge=-1, description="Times Ray restarts a dead actor (-1: forever)."
    )
    max_task_retries: int = Field(
        default=3, ge=-1, description="Times a call is retried on a restarted actor (-1: forever)."
    )
    local_cpus: int = Field(
        default=2, ge=1, description="CPUs of the local Ray started when address is ''."
    )

    @model_validator(mode="before")
    @classmethod
    def _from_kind(cls, value: Any) -> Any:
        if isinstance(value, str):  # executor = "ray"
            return {"kind": value}
        return value
