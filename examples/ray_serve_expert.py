"""An expert behind HTTP with Ray Serve: the production path for an expert that many Podium API
servers share.

    pip install 'podium[serve]'
    python examples/ray_serve_expert.py [--port 8000]   # deploy, ask over HTTP, shut down
    serve run examples.ray_serve_expert:app             # or keep it serving on :8000

The deployment holds one built-in expert with its models loaded, one copy per replica; Ray Serve
spreads requests over the replicas, restarts a failed one, and can autoscale
(``autoscaling_config``). Podium's side is :class:`RemoteExpert`, an ``Expert`` whose ``arun``
posts the request, so the planner uses the served expert like a local one::

    remote = RemoteExpert.from_url("http://serve-host:8000/retrieval")
    Podium(experts=[remote])          # replaces the in-process "retrieval" expert

HTTP API: ``GET /`` returns the expert's card (name, description, inputs); ``POST /run`` with
``{"text": ..., "args": {...}, "task": ..., "run_id": ..., "step_id": ...}`` returns an
``ExpertResult`` as JSON (its ``cost`` carries the tokens and time metered in the replica).
"""

# No `from __future__ import annotations` here: FastAPI reads the endpoint's body type from the
# annotation, and Serve's ingress wrapper cannot resolve it from a string.
import argparse
import asyncio
import socket
from typing import Any

import httpx
from fastapi import FastAPI, HTTPException
from pydantic import BaseModel, Field
from ray import serve

from podium.errors import ModelUnavailable, PodiumError
from podium.experts.base import Expert, ExpertContext, ExpertResult, primary_text_field

api = FastAPI(title="Podium expert")


class RunBody(BaseModel):
    text: str = Field(min_length=1)
    args: dict[str, Any] = Field(default_factory=dict)
    task: str = ""
    run_id: str = ""
    step_id: str = ""


@serve.deployment(num_replicas=1, ray_actor_options={"num_cpus": 0.5})
@serve.ingress(api)
class ExpertDeployment:
    """One built-in expert (by name) on the given workspace (default: the demo)."""

    def __init__(self, expert: str = "retrieval", workspace: str | None = None) -> None:
        from podium.models.provider import ModelProvider
        from podium.runner import builtin_experts
        from podium.workspace import Workspace, demo_workspace

        experts = {e.name: e for e in builtin_experts()}
        if expert not in experts:
            raise ValueError(f"no built-in expert {expert!r}; known: {sorted(experts)}")
        self.expert = experts[expert]
        self.workspace = Workspace.load(workspace) if workspace else demo_workspace()
        m = self.workspace.config.models
        self.models = ModelProvider({"planner": m.planner, "embeddings": m.embeddings})

    @api.get("/")
    def card(self) -> dict[str, Any]:
        return self.expert.card()

    @api.post("/run")
    async def run(self, body: RunBody) -> dict[str, Any]:
        from podium.experts.base import Cost
        from podium.models.usage import metered

        try:
            request = self.expert.parse_input(body.text, body.args)
        except PodiumError as exc:
            raise HTTPException(422, str(exc)) from exc
        ctx = ExpertContext(
            run_id=body.run_id,
            step_id=body.step_id,
            task=body.task,
            workspace=self.workspace,
            models=self.models,
        )
        with metered() as (meter, timing):
            result = await self.expert.arun(request, ctx)
        result.cost = Cost(
            model=result.cost.model or ", ".join(meter.models),
            input_tokens=result.cost.input_tokens or meter.input_tokens,
            output_tokens=result.cost.output_tokens or meter.output_tokens,
            ms=round(timing["ms"], 2),
        )
        return result.model_dump(mode="json")


app = ExpertDeployment.bind("retrieval")


class RemoteExpert(Expert):
    """An expert served elsewhere over HTTP (by the deployment above)."""

    def __init__(self, url: str, *, name: str, description: str, timeout_s: float = 60) -> None:
        self.url = url.rstrip("/")
        self.name = name  # type: ignore[misc]
        self.description = description  # type: ignore[misc]
        self.timeout_s = timeout_s

    @classmethod
    def from_url(cls, url: str) -> "RemoteExpert":
        """Ask the deployment for its card, and describe the expert to the planner the same."""
        card = httpx.get(url.rstrip("/") + "/", timeout=30).raise_for_status().json()
        return cls(url, name=card["name"], description=card["description"])

    async def arun(self, request: BaseModel, ctx: ExpertContext) -> ExpertResult:
        data = request.model_dump()
        text = data.pop(primary_text_field(type(request)) or "text", "")
        body = {
            "text": text,
            "args": data,
            "task": ctx.task,
            "run_id": ctx.run_id,
            "step_id": ctx.step_id,
        }
        try:
            async with httpx.AsyncClient(timeout=self.timeout_s) as client:
                response = await client.post(self.url + "/run", json=body)
        except httpx.TransportError as exc:
            raise ModelUnavailable(
                f"expert {self.name!r} at {self.url} is unreachable: {exc}",
                hint="is the Ray Serve deployment running? (serve status)",
            ) from exc
        if response.status_code >= 500:  # transient: Podium's retry rule tries again
            raise ModelUnavailable(f"expert {self.name!r} at {self.url}: {response.text[:300]}")
        if response.status_code >= 400:
            raise ValueError(f"expert {self.name!r} refused the request: {response.text[:300]}")
        return ExpertResult.model_validate(response.json())


def main() -> None:
    import ray

    parser = argparse.ArgumentParser(description="Deploy an expert with Ray Serve and ask it.")
    parser.add_argument("--port", type=int, default=8000)
    parser.add_argument("--question", default="What is the return policy for damaged items?")
    args = parser.parse_args()
    with socket.socket() as s:
        if s.connect_ex(("127.0.0.1", args.port)) == 0:
            raise SystemExit(f"port {args.port} is taken: pass --port")
    ray.init(num_cpus=2, include_dashboard=False, log_to_driver=False)
    try:
        serve.start(http_options={"host": "127.0.0.1", "port": args.port})
        serve.run(app, name="podium-retrieval", route_prefix="/retrieval")
        remote = RemoteExpert.from_url(f"http://127.0.0.1:{args.port}/retrieval")
        result = asyncio.run(remote.arun(remote.parse_input(args.question), ExpertContext()))
        top = result.output[0]
        print(f"expert: {remote.name} (served at {remote.url})")
        print(f"top passage: {top['source']} (confidence {result.confidence:.2f})")
        print(top["text"][:300])
        print(f"replica time: {result.cost.ms:.0f} ms")
    finally:
        serve.shutdown()
        ray.shutdown()


if __name__ == "__main__":
    main()
