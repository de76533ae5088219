"""The documents an answer cites, one click away: GET /api/documents/view serves a workspace
document to read, and nothing outside the workspace's document folders."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import httpx
import pytest

from podium.workspace import DatabaseSpec, Workspace

RETURNS = "# Returns and refunds\n\n## Damaged or faulty items\n\nContact support within 14 days.\n"


@pytest.fixture
def workspace(tmp_path: Path) -> Workspace:
    """A workspace with a docs folder (and, beside it, files that are not its documents)."""
    ws = Workspace.init(tmp_path / "ws", documents=["docs"], guardians=False)
    docs = ws.root / "docs"
    (docs / "policies").mkdir(parents=True)
    (docs / "returns.md").write_text(RETURNS)
    (docs / "policies" / "page.html").write_text("<script>alert(1)</script><h1>Shipping</h1>")
    (docs / ".draft.md").write_text("not published")
    (docs / "notes.py").write_text("print('not a document')")
    (tmp_path / "outside.md").write_text("a secret outside the workspace")
    (docs / "link.md").symlink_to(tmp_path / "outside.md")
    return ws


def view(http: httpx.Client, source: str) -> httpx.Response:
    return http.get("/api/documents/view", params={"source": source})


def test_a_cited_document_is_served_as_text_by_its_path(http: httpx.Client, workspace: Any) -> None:
    res = view(http, str(workspace.root / "docs" / "returns.md"))  # as a passage's source
    assert res.status_code == 200
    assert res.text == RETURNS
    assert res.headers["content-type"] == "text/plain; charset=utf-8"
    assert res.headers["content-disposition"] == 'inline; filename="returns.md"'
    assert view(http, "docs/returns.md").text == RETURNS  # relative to the workspace


def test_an_html_document_is_shown_as_its_text_never_run_as_a_page(http: httpx.Client) -> None:
    res = view(http, "docs/policies/page.html")
    assert res.status_code == 200
    assert res.headers["content-type"] == "text/plain; charset=utf-8"
    assert res.text.startswith("<script>")


@pytest.mark.parametrize(
    "source",
    [
        "docs/../podium.toml",  # up out of the folder
        "docs/../../outside.md",
        "../outside.md",
        "docs/policies/../../podium.toml",
        "/etc/passwd",  # an absolute path elsewhere
        "docs/link.md",  # a link inside that points outside
        "docs/.draft.md",  # hidden
        "docs/notes.py",  # not a document
        "docs/missing.md",
        "docs",  # the folder itself
        "docs/returns.md\x00.txt",
    ],
)
def test_nothing_outside_the_document_folders_is_served(http: httpx.Client, source: str) -> None:
    res = view(http, source)
    assert res.status_code == 404
    assert "no document" in res.json()["error"]["message"]


def test_absolute_paths_outside_are_refused_like_missing_files(
    http: httpx.Client, workspace: Any
) -> None:
    for path in (workspace.root / "podium.toml", workspace.root.parent / "outside.md"):
        assert path.is_file()
        assert view(http, str(path)).status_code == 404


def test_the_databases_are_listed_by_name_first_the_default(
    http: httpx.Client, workspace: Any
) -> None:
    """What the page names an answer's database by (a step that names none asks the first)."""
    assert http.get("/api/databases").json() == {"databases": []}
    workspace.config.databases = [
        DatabaseSpec(name="shop", url="sqlite:///shop.db", description="orders"),
        DatabaseSpec(name="staff", url="sqlite:///staff.db"),
    ]
    listed = http.get("/api/databases").json()["databases"]
    assert listed == [
        {"name": "shop", "description": "orders"},
        {"name": "staff", "description": ""},
    ]
