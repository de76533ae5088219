"""The run API as a client uses it: start a run, read its event stream, approve, read it back."""

from __future__ import annotations

import httpx

from podium import Podium
from podium.records import RunRecord
from podium.server import create_app
from podium.server.background import serve_in_thread

from .conftest import read_events


def test_a_run_streams_its_plan_steps_and_answer(http: httpx.Client) -> None:
    started = http.post("/api/runs", json={"message": "the tides and the moons"})
    assert started.status_code == 202
    run_id = started.json()["run_id"]

    events = read_events(http, run_id)
    kinds = [e["type"] for e in events]
    assert kinds[0] == "run_started" and kinds[-1] == "run_finished", events
    assert kinds.index("plan") < kinds.index("step_started") < kinds.index("answer")
    assert [e["seq"] for e in events] == sorted({e["seq"] for e in events})
    plan = next(e for e in events if e["type"] == "plan")["plan"]
    assert [s["input"] for s in plan["steps"][:2]] == ["the tides", "the moons"]
    finished = [e for e in events if e["type"] == "step_finished"]
    assert {e["step_id"] for e in finished} == {"s1", "s2", "s3"}
    assert all(e["status"] == "ok" for e in finished)
    assert "fact about the tides" in events[-1]["answer"]
    assert "fact about the moons" in events[-1]["answer"]

    run = http.get(f"/api/runs/{run_id}").json()
    assert run["status"] == "done" and run["live"] is False
    assert {s["step_id"] for s in run["steps"]} == {"s1", "s2", "s3"}
    assert RunRecord.model_validate(run).events == events  # the published run record
    assert run["conversation_id"] == started.json()["conversation_id"]


def test_a_step_approval_round_trip(http: httpx.Client) -> None:
    run_id = http.post("/api/runs", json={"message": "the tides and export orders"}).json()[
        "run_id"
    ]
    first_leg = read_events(http, run_id)
    assert first_leg[-1]["type"] == "run_paused"
    asked = next(e for e in first_leg if e["type"] == "approval_required")
    assert (asked["step_id"], asked["when"]) == ("s2", "after")
    run = http.get(f"/api/runs/{run_id}").json()
    assert run["status"] == "awaiting_approval"
    assert [p["step_id"] for p in run["pending_approvals"]] == ["s2"]

    answered = http.post(f"/api/runs/{run_id}/approve", json={"approvals": {"s2": True}})
    assert answered.status_code == 202, answered.text
    second_leg = read_events(http, run_id, after=first_leg[-1]["seq"])
    assert second_leg[0]["seq"] == first_leg[-1]["seq"] + 1
    assert second_leg[0]["type"] == "approval" and second_leg[0]["approved"] is True
    assert second_leg[-1]["type"] == "run_finished" and second_leg[-1]["status"] == "done"
    assert "5000 rows of export orders exported" in second_leg[-1]["answer"]

    # The whole run reads back in order from the start, and its turn joined the conversation.
    replay = read_events(http, run_id)
    assert [e["seq"] for e in replay] == list(range(1, len(replay) + 1))
    conv = http.get(f"/api/conversations/{run['conversation_id']}").json()
    assert [m["role"] for m in conv["messages"]] == ["user", "assistant"]


def test_rejecting_a_step_finishes_the_run_without_it(http: httpx.Client) -> None:
    run_id = http.post("/api/runs", json={"message": "export orders"}).json()["run_id"]
    assert read_events(http, run_id)[-1]["type"] == "run_paused"
    body = {"approvals": {"s1": {"approved": False, "note": "too many rows"}}}
    assert http.post(f"/api/runs/{run_id}/approve", json=body).status_code == 202
    last = read_events(http, run_id)[-1]
    assert last["type"] == "run_finished" and last["status"] == "partial"
    step = http.get(f"/api/runs/{run_id}").json()["steps"][0]
    assert step["status"] == "failed" and "too many rows" in step["error"]


def test_conversations_and_runs_survive_a_server_restart(podium: Podium, workspace) -> None:
    with serve_in_thread(create_app(podium)) as url, httpx.Client(base_url=url) as http:
        conv_id = http.post("/api/conversations", json={"title": "sea"}).json()["id"]
        started = http.post("/api/runs", json={"message": "the tides", "conversation_id": conv_id})
        run_id = started.json()["run_id"]
        read_events(http, run_id)

    again = Podium(workspace=workspace, builtins=False, plugins=False, warmup=False)
    with serve_in_thread(create_app(again)) as url, httpx.Client(base_url=url) as http:
        listed = http.get("/api/conversations").json()["conversations"]
        assert [c["id"] for c in listed] == [conv_id]
        conv = http.get(f"/api/conversations/{conv_id}").json()
        assert [(m["role"], m["run_id"]) for m in conv["messages"]] == [
            ("user", run_id),
            ("assistant", run_id),
        ]
        assert "fact about the tides" in conv["messages"][1]["content"]
        assert [r["id"] for r in conv["runs"]] == [run_id]
        replay = read_events(http, run_id)
        assert replay[-1]["type"] == "run_finished" and replay[-1]["status"] == "done"


def test_a_run_cut_off_by_a_shutdown_resumes_after_a_restart(podium: Podium, workspace) -> None:
    with serve_in_thread(create_app(podium)) as url, httpx.Client(base_url=url) as http:
        run_id = http.post("/api/runs", json={"message": "owls and slowly the moons"}).json()[
            "run_id"
        ]
        with http.stream("GET", f"/api/runs/{run_id}/events") as res:
            for line in res.iter_lines():
                if '"step_finished"' in line:
                    break  # s1 is done, s2 (1.5 s) runs: now the server stops
    assert podium.store.get_run(run_id)["status"] == "running"

    again = Podium(
        planner=podium.models.roles["planner"],
        experts=[podium.registry.get(n) for n in ("lookup", "ponder")],
        workspace=workspace,
        builtins=False,
        plugins=False,
        warmup=False,
    )
    with serve_in_thread(create_app(again)) as url, httpx.Client(base_url=url) as http:
        before = http.get(f"/api/runs/{run_id}").json()["events"]
        assert http.post(f"/api/runs/{run_id}/resume").status_code == 202
        events = read_events(http, run_id, after=before[-1]["seq"])
        assert events[-1]["type"] == "run_finished" and events[-1]["status"] == "done"
        started = [e["step_id"] for e in events if e["type"] == "step_started"]
        assert "s1" not in started  # finished steps do not run again
        assert "thoughts on slowly the moons" in events[-1]["answer"]
        # Every step answered, so no fallback was weighed and the router (the encoder, ~10 s
        # to load in a fresh process) was never built: the resumed run did not stall.
        assert "router" not in again.context.__dict__
        again_res = http.post(f"/api/runs/{run_id}/resume")
        assert again_res.status_code == 422 and "already done" in again_res.text


def test_last_event_id_picks_up_where_a_reader_left_off(http: httpx.Client) -> None:
    run_id = http.post("/api/runs", json={"message": "owls"}).json()["run_id"]
    every = read_events(http, run_id)
    with http.stream(
        "GET", f"/api/runs/{run_id}/events", headers={"Last-Event-ID": str(every[2]["seq"])}
    ) as res:
        rest = [line for line in res.iter_lines() if line.startswith("id:")]
    assert rest[0].split(":")[1].strip() == str(every[3]["seq"])
    assert len(rest) == len(every) - 3


def test_the_experts_page_lists_experts_with_recent_latency(http: httpx.Client) -> None:
    read_events(http, http.post("/api/runs", json={"message": "owls"}).json()["run_id"])
    experts = {e["name"]: e for e in http.get("/api/experts").json()["experts"]}
    assert set(experts) == {"lookup", "export", "ponder"}
    assert experts["lookup"]["description"].startswith("Looks up a fact")
    assert experts["lookup"]["recent_calls"] == 1 and experts["lookup"]["recent_ms"] >= 40
    assert experts["export"]["recent_ms"] is None


def test_the_page_and_its_files_are_served(http: httpx.Client) -> None:
    page = http.get("/")
    assert page.status_code == 200 and "<title>Podium</title>" in page.text
    assert http.get("/static/app.js").status_code == 200
    assert http.get("/api/info").json()["token_required"] is False


def test_a_token_guards_the_apis_but_not_the_page(podium: Podium) -> None:
    with (
        serve_in_thread(create_app(podium, token="s3cret")) as url,
        httpx.Client(base_url=url) as http,
    ):
        refused = http.post("/api/runs", json={"message": "owls"})
        assert refused.status_code == 401
        assert "Authorization: Bearer" in refused.json()["error"]["hint"]
        assert http.get("/v1/models", headers={"Authorization": "Bearer wrong"}).status_code == 401
        assert http.get("/").status_code == 200
        assert http.get("/api/info").json()["token_required"] is True
        ok = http.get("/v1/models", headers={"Authorization": "Bearer s3cret"})
        assert ok.status_code == 200


async def test_two_answers_to_one_approval_start_one_leg(http: httpx.Client, live: str) -> None:
    import asyncio

    run_id = http.post("/api/runs", json={"message": "export orders"}).json()["run_id"]
    read_events(http, run_id)
    body = {"approvals": {"s1": True}}
    async with httpx.AsyncClient(base_url=live) as client:
        answers = await asyncio.gather(
            *(client.post(f"/api/runs/{run_id}/approve", json=body) for _ in range(3))
        )
    codes = sorted(r.status_code for r in answers)
    assert codes == [202, 422, 422], [r.text for r in answers]
    events = read_events(http, run_id)
    assert [e["type"] for e in events].count("approval") == 1
    assert events[-1]["status"] == "done"
