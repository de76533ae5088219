"""`podium serve` as a user starts it: a process on loopback, its page and its APIs."""

from __future__ import annotations

import os
import subprocess
import sys
import time

import httpx
import openai

from podium.server.background import free_port


def test_podium_serve_answers_on_loopback_with_a_token(demo) -> None:
    port = free_port()
    env = {**os.environ, "PODIUM_TOKEN": "t0ken", "PODIUM_LOG_LEVEL": "warning"}
    cmd = [sys.executable, "-m", "podium.cli", "serve", "-w", str(demo.root), "--port", str(port)]
    proc = subprocess.Popen(cmd, env=env, stderr=subprocess.PIPE, text=True)
    url = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 60
        while True:
            try:
                info = httpx.get(f"{url}/api/info", timeout=2).json()
                break
            except httpx.HTTPError:
                assert proc.poll() is None, proc.stderr.read()
                assert time.monotonic() < deadline, "podium serve did not start in 60 s"
                time.sleep(0.3)
        assert info["token_required"] is True and info["workspace"] == demo.name
        assert httpx.get(f"{url}/v1/models").status_code == 401
        client = openai.OpenAI(base_url=f"{url}/v1", api_key="t0ken", max_retries=0)
        assert [m.id for m in client.models.list().data] == ["podium"]
        experts = httpx.get(f"{url}/api/experts", headers={"Authorization": "Bearer t0ken"})
        assert {"nl2sql", "retrieval"} <= {e["name"] for e in experts.json()["experts"]}
        workspace = httpx.get(f"{url}/api/workspace", headers={"Authorization": "Bearer t0ken"})
        assert workspace.json()["databases"][0]["name"] == "shop"
        # bound to loopback, it answers only to loopback names (no DNS rebinding)
        rebound = httpx.get(f"{url}/", headers={"Host": f"evil.example:{port}"})
        assert rebound.status_code == 400
        assert httpx.get(f"http://localhost:{port}/").status_code == 200
    finally:
        proc.terminate()
        proc.wait(30)
    assert f"http://127.0.0.1:{port}/" in proc.stderr.read()
