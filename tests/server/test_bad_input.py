"""Bad input gets a clear 4xx that says what happened and what to do; runs are never harmed."""

from __future__ import annotations

import json
import sqlite3
from pathlib import Path

import httpx

from .conftest import read_events


def _error(res: httpx.Response, status: int) -> dict:
    assert res.status_code == status, res.text
    return res.json()["error"]


def test_malformed_json_is_a_400_that_says_so(http: httpx.Client) -> None:
    res = http.post(
        "/api/runs", content=b'{"message": "owls"', headers={"Content-Type": "application/json"}
    )
    err = _error(res, 400)
    assert err["type"] == "MalformedJSON" and "not valid JSON" in err["message"]
    assert _error(http.post("/v1/chat/completions", content=b"{nope"), 400)["code"] == 400


def test_wrong_fields_are_named(http: httpx.Client) -> None:
    err = _error(http.post("/api/runs", json={"mesage": "owls"}), 422)
    assert "message: Field required" in err["message"]
    assert "mesage" in err["message"]  # the unknown field is named too
    err = _error(http.post("/api/runs", json={"message": ""}), 422)
    assert "message" in err["message"]


def test_unknown_run_ids_are_404(http: httpx.Client) -> None:
    for method, path, body in [
        ("GET", "/api/runs/nosuchrun", None),
        ("GET", "/api/runs/nosuchrun/events", None),
        ("POST", "/api/runs/nosuchrun/approve", {"approvals": {"s1": True}}),
        ("POST", "/api/runs/nosuchrun/resume", None),
    ]:
        err = _error(http.request(method, path, json=body), 404)
        assert "no run 'nosuchrun'" in err["message"], (method, path)
    err = _error(http.get("/api/conversations/nosuch"), 404)
    assert "no conversation 'nosuch'" in err["message"]
    err = _error(http.post("/api/runs", json={"message": "owls", "conversation_id": "nosuch"}), 404)


def test_approving_a_step_that_does_not_wait_is_refused(http: httpx.Client) -> None:
    run_id = http.post("/api/runs", json={"message": "export orders"}).json()["run_id"]
    read_events(http, run_id)
    err = _error(http.post(f"/api/runs/{run_id}/approve", json={"approvals": {"s9": True}}), 422)
    assert "no approval is pending for step s9" in err["message"] and "s1" in err["hint"]
    _error(http.post(f"/api/runs/{run_id}/approve", json={"approvals": {}}), 422)
    # the run still waits, and answering it properly still works
    assert http.post(f"/api/runs/{run_id}/approve", json={"approvals": {"s1": True}}).is_success
    assert read_events(http, run_id)[-1]["status"] == "done"


def test_oversize_messages_are_refused_before_anything_runs(http: httpx.Client) -> None:
    # over the request-body limit (200 kB in these tests): 413 before the body is parsed
    err = _error(http.post("/api/runs", json={"message": "x" * 300_000}), 413)
    assert "over this server's limit of 200,000 bytes" in err["message"]
    # within the body limit but over the task limit: 422 from the task check
    err = _error(http.post("/api/runs", json={"message": "owls " * 5_000}), 422)
    assert "characters; the limit is 20,000" in err["message"]
    assert http.get("/api/runs").json()["runs"] == []
    assert http.get("/api/conversations").json()["conversations"] == []
    messages = [{"role": "user", "content": "y" * 300_000}]
    _error(http.post("/v1/chat/completions", json={"model": "podium", "messages": messages}), 413)
    # a chunked body without Content-Length is counted as it arrives
    chunks = (b"x" * 50_000 for _ in range(6))
    res = http.post("/api/runs", content=chunks, headers={"Content-Type": "application/json"})
    assert res.status_code == 413


def test_a_binary_upload_is_refused_and_a_text_one_accepted(
    http: httpx.Client, workspace, tmp_path: Path
) -> None:
    png = b"\x89PNG\r\n\x1a\n" + bytes(range(256)) * 4
    err = _error(http.post("/api/documents", files={"file": ("notes.md", png)}), 415)
    assert "notes.md is binary" in err["message"]
    err = _error(http.post("/api/documents", files={"file": ("photo.png", b"hello")}), 415)
    assert "not a document Podium can read" in err["message"] and ".pdf" in err["hint"]
    err = _error(http.post("/api/documents", files={"file": ("fake.pdf", b"hello")}), 415)
    assert "fake.pdf is not a PDF file" in err["message"]
    latin1 = "café".encode("latin-1")
    err = _error(http.post("/api/documents", files={"file": ("a.txt", latin1)}), 415)
    assert "not UTF-8" in err["message"]
    err = _error(http.post("/api/documents", files={"file": ("big.txt", b"a" * 150_000)}), 413)
    assert not (workspace.root / "uploads").exists()

    ok = http.post("/api/documents", files={"file": ("../../tides.md", b"# Tides\nTwice a day.")})
    assert ok.status_code == 201, ok.text
    saved = workspace.root / "uploads" / "tides.md"
    assert saved.read_text() == "# Tides\nTwice a day."
    docs = http.get("/api/workspace").json()["documents"]
    assert {"path": "uploads", "description": "", "files": ["tides.md"], "uploads": True} in docs
    assert http.delete("/api/documents/tides.md").status_code == 204
    assert not saved.exists()
    assert http.delete("/api/documents/..%2Fpodium.toml").status_code == 404
    assert (workspace.root / "podium.toml").exists()


def test_connecting_a_database_never_shows_its_password(http: httpx.Client, workspace) -> None:
    db = workspace.root / "sea.sqlite"
    with sqlite3.connect(db) as conn:
        conn.execute("CREATE TABLE tides (day TEXT, height REAL)")
    ok = http.post("/api/databases", json={"name": "sea", "url": f"sqlite:///{db}"})
    assert ok.status_code == 201, ok.text
    assert ok.json()["tables"] == ["tides"]
    assert ok.json()["url"] == "sqlite:///sea.sqlite"  # saved relative to the workspace
    _error(http.post("/api/databases", json={"name": "sea", "url": f"sqlite:///{db}"}), 409)
    _error(http.post("/api/databases", json={"name": "x", "url": "not a url"}), 422)

    secret = "postgresql+psycopg://sam:hunter2@127.0.0.1:9/nowhere?sslpassword=swordfish"
    res = http.post("/api/databases", json={"name": "pg", "url": secret})
    err = _error(res, 422)
    assert "cannot connect" in err["message"]
    assert "hunter2" not in res.text and "swordfish" not in res.text
    listed = http.get("/api/workspace").json()["databases"]
    assert [d["name"] for d in listed] == ["sea"]


def test_closing_the_stream_mid_run_leaves_the_run_unharmed(http: httpx.Client) -> None:
    run_id = http.post("/api/runs", json={"message": "slowly the tides"}).json()["run_id"]
    with http.stream("GET", f"/api/runs/{run_id}/events") as res:
        for line in res.iter_lines():
            if line.startswith("data:") and json.loads(line[5:])["type"] == "step_started":
                break  # the client goes away while the slow step runs
    assert http.get(f"/api/runs/{run_id}").json()["live"] is True
    events = read_events(http, run_id)  # a new reader catches up from the start
    assert events[-1]["type"] == "run_finished" and events[-1]["status"] == "done"
    assert "thoughts on slowly the tides" in events[-1]["answer"]
    assert http.get(f"/api/runs/{run_id}").json()["status"] == "done"


def test_closing_an_openai_stream_mid_run_leaves_the_run_unharmed(http: httpx.Client) -> None:
    body = {"model": "podium", "stream": True, "messages": [{"role": "user", "content": "slowly"}]}
    with http.stream("POST", "/v1/chat/completions", json=body) as res:
        run_id = res.headers["x-podium-run"]
        next(res.iter_lines())
    events = read_events(http, run_id)
    assert events[-1]["status"] == "done"
