"""Thumbs up and down from the chat page's two endpoints, as the page calls them."""

from __future__ import annotations

import httpx

from podium.learning import ExampleStore

from .conftest import read_events


def _finished_run(http: httpx.Client, message: str) -> str:
    run_id = http.post("/api/runs", json={"message": message}).json()["run_id"]
    assert read_events(http, run_id)[-1]["type"] == "run_finished"
    return run_id


def test_a_thumbs_up_on_a_step_makes_it_a_verified_example(http, podium) -> None:
    run_id = _finished_run(http, "the tides and the moons")
    res = http.post(f"/api/runs/{run_id}/steps/s1/feedback", json={"verdict": "good"})
    assert res.status_code == 200, res.text
    assert res.json()["verdict"] == "good" and len(res.json()["examples"]) == 1
    [example] = ExampleStore(podium.store).examples("lookup")
    assert (example.run_id, example.step_id, example.voucher) == (run_id, "s1", "thumbs_up")
    assert example.input == "the tides" and example.output == "fact about the tides"


def test_a_thumbs_down_on_the_answer_removes_every_example_of_the_run(http, podium) -> None:
    run_id = _finished_run(http, "the tides and the moons")
    assert http.post(f"/api/runs/{run_id}/feedback", json={"verdict": "good"}).status_code == 200
    examples = ExampleStore(podium.store)
    assert {e.step_id for e in examples.examples("lookup")} == {"s1", "s2", "s3"}

    res = http.post(f"/api/runs/{run_id}/feedback", json={"verdict": "bad"})
    assert res.status_code == 200
    assert len(res.json()["examples"]) == 3
    assert examples.examples("lookup") == []
    assert {e.step_id for e in examples.examples("lookup", status="removed")} == {"s1", "s2", "s3"}


def test_unknown_runs_and_steps_are_404_and_bad_verdicts_422(http) -> None:
    run_id = _finished_run(http, "the tides")
    missing_run = http.post("/api/runs/nope/feedback", json={"verdict": "good"})
    assert missing_run.status_code == 404
    missing_step = http.post(f"/api/runs/{run_id}/steps/s9/feedback", json={"verdict": "bad"})
    assert missing_step.status_code == 404
    assert "s1" in missing_step.json()["error"]["hint"]
    wrong = http.post(f"/api/runs/{run_id}/feedback", json={"verdict": "meh"})
    assert wrong.status_code == 422
    extra = http.post(f"/api/runs/{run_id}/feedback", json={"verdict": "good", "x": 1})
    assert extra.status_code == 422


def test_feedback_needs_the_token_when_the_server_has_one(podium, limits) -> None:
    from podium.server import create_app
    from podium.server.background import serve_in_thread

    with (
        serve_in_thread(create_app(podium, limits=limits, token="s3cret")) as url,
        httpx.Client(base_url=url, timeout=30) as client,
    ):
        res = client.post("/api/runs/any/feedback", json={"verdict": "good"})
        assert res.status_code == 401
