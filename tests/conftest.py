"""Shared fixtures: isolated Podium homes and workspaces, scripted planners."""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from podium.workspace import Workspace, demo_workspace

from .scripted import scripted

ROOT = Path(__file__).resolve().parents[1]
SHARED_DATA = Path(os.environ.get("PODIUM_SHARED_DATA", ROOT.parent / "shared" / "data"))


@pytest.fixture(scope="session")
def shared_data() -> Path:
    """The public benchmark slices beside the repository (never copied into it)."""
    if not (SHARED_DATA / "MANIFEST.md").is_file():
        pytest.fail(f"benchmark data not found at {SHARED_DATA}; set PODIUM_SHARED_DATA")
    return SHARED_DATA


@pytest.fixture(autouse=True)
def _isolated_home(
    tmp_path_factory: pytest.TempPathFactory, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Nothing a test does touches the user's ~/.podium."""
    monkeypatch.setenv("PODIUM_HOME", str(tmp_path_factory.getbasetemp() / "podium-home"))


@pytest.fixture(scope="session")
def demo(tmp_path_factory: pytest.TempPathFactory) -> Workspace:
    """The shipped demo workspace, materialised once per test session."""
    return demo_workspace(tmp_path_factory.mktemp("demo-home"))


@pytest.fixture(scope="session")
def large_model() -> Any:
    """The ladder's installed 1.5B model as a chat model; the test is skipped without it."""
    pytest.importorskip("llama_cpp")
    from podium.models.catalog import QWEN_15B
    from podium.models.files import is_installed
    from podium.models.provider import ModelProvider

    if not is_installed(QWEN_15B):
        pytest.skip("the 1.5B model of the ladder is not installed")
    return ModelProvider().base_chat(role="large")


@pytest.fixture
def workspace(tmp_path: Path) -> Workspace:
    """An empty workspace in a temporary folder, guardians off (``podium init`` turns them on;
    tests that screen use the ``guarded`` fixture, the rest stay fast and model-free)."""
    return Workspace.init(tmp_path / "ws", guardians=False)


@pytest.fixture
def make_podium(workspace: Workspace) -> Iterator[Any]:
    """Build a Podium over the temporary workspace with only the given experts."""
    from podium import Podium

    def build(*replies: str, experts: list[Any], **kwargs: Any) -> Podium:
        kwargs.setdefault("semantic_check", False)
        return Podium(
            planner=scripted(*replies),
            experts=experts,
            workspace=workspace,
            builtins=False,
            plugins=False,
            warmup=False,
            **kwargs,
        )

    yield build
