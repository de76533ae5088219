"""Registering experts: decorator, config file, entry points — and what happens when one is bad."""

from __future__ import annotations

import json
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

from podium import Expert, ExpertResult, expert
from podium.errors import ExpertError, RegistryError
from podium.experts.base import ExpertContext
from podium.experts.registry import ExpertRegistry, ExpertSpec
from podium.workspace import Workspace


def test_decorator_learns_name_description_and_inputs_from_the_function():
    @expert
    def exchange_rate(currency: str, amount: float = 1.0) -> float:
        """Converts an amount of a currency to euros at the demo's fixed rates.

        Longer notes here are not part of the description.
        """
        return amount * {"usd": 0.9}[currency]

    assert exchange_rate.name == "exchange_rate"
    assert exchange_rate.description == (
        "Converts an amount of a currency to euros at the demo's fixed rates."
    )
    assert list(exchange_rate.input_model.model_fields) == ["currency", "amount"]
    request = exchange_rate.parse_input("usd", {"amount": 10})
    result = exchange_rate.run(request, ExpertContext())
    assert result.output == pytest.approx(9.0)
    assert result.confidence == 1.0
    assert exchange_rate("usd", 2) == pytest.approx(1.8)  # still callable as a function


def test_decorator_passes_the_context_and_rejects_bad_input():
    @expert(confidence=0.4)
    def echo_task(text: str, ctx: ExpertContext) -> str:
        """Echoes the run's task."""
        return ctx.task

    result = echo_task.run(echo_task.parse_input("hi"), ExpertContext(task="the task"))
    assert (result.output, result.confidence) == ("the task", 0.4)

    @expert
    def needs_number(text: str, n: int) -> int:
        """Needs a number."""
        return n

    with pytest.raises(ExpertError, match="n: Field required"):
        needs_number.parse_input("hello")


def test_a_function_without_docstring_cannot_become_an_expert():
    def mystery(text: str) -> str:
        return text

    with pytest.raises(RegistryError, match="no description"):
        expert(mystery)


def test_duplicate_names_are_refused_unless_replacing():
    @expert
    def lookup(text: str) -> str:
        """Looks things up."""
        return text

    registry = ExpertRegistry([lookup])
    with pytest.raises(RegistryError, match="already registered"):
        registry.register(lookup)
    registry.register(lookup, replace=True)
    assert registry.names() == ["lookup"]


def test_bad_names_are_refused():
    class Loud(Expert):
        name = "Loud Expert!"
        description = "Shouts."

    with pytest.raises(RegistryError, match="not valid"):
        ExpertRegistry([Loud()])


class Greeter(Expert):
    """A class expert configured by options."""

    name = "greeter"
    description = "Greets people by name."

    def __init__(self, greeting: str = "Hello") -> None:
        self.greeting = greeting

    def run(self, request, ctx):
        return ExpertResult(output=f"{self.greeting}, {request.text}!", confidence=1.0)


def test_config_entries_register_classes_with_options_and_record_bad_ones():
    registry = ExpertRegistry()
    registry.load_specs(
        [
            ExpertSpec(
                callable="tests.test_registry:Greeter",
                options={"greeting": "Hej"},
                name="hej",
                model="local:smollm2",
            ),
            ExpertSpec(callable="tests.test_registry:NoSuchThing"),
            ExpertSpec(callable="no_such_module:thing"),
            ExpertSpec(callable="tests.test_registry:Greeter", options={"volume": 11}),
            ExpertSpec(callable="json:loads", name="Bad Name"),
        ]
    )
    assert registry.names() == ["hej"]
    hej = registry.get("hej")
    assert hej.model == "local:smollm2"
    assert hej.run(hej.parse_input("Ada"), ExpertContext()).output == "Hej, Ada!"
    reasons = " | ".join(p.reason for p in registry.problems)
    assert len(registry.problems) == 4
    assert "no attribute 'NoSuchThing'" in reasons
    assert "cannot import 'no_such_module'" in reasons
    assert "does not accept options ['volume']" in reasons
    assert "not valid" in reasons


def test_workspace_config_experts_reach_the_planner(tmp_path: Path):
    ws = Workspace.init(tmp_path / "ws")
    (ws.root / "podium.toml").write_text(
        (ws.root / "podium.toml").read_text()
        + textwrap.dedent("""
            [[experts]]
            callable = "tests.test_registry:Greeter"
            name = "welcome"
            options = { greeting = "Welcome" }
        """)
    )
    from podium import Podium

    podium = Podium(workspace=ws.root, builtins=False, plugins=False, store=False, warmup=False)
    assert podium.registry.names() == ["welcome"]
    assert "podium.toml" in podium.registry.origin("welcome")


def test_installed_plugin_shows_up_by_entry_point():
    """examples/plugin is installed into the test environment by scripts/install.sh."""
    registry = ExpertRegistry()
    registry.load_entry_points()
    assert "unit_convert" in registry.names()
    convert = registry.get("unit_convert")
    result = convert.run(convert.parse_input("Convert 10 km to mi"), ExpertContext())
    assert result.output["value"] == pytest.approx(6.213712, rel=1e-6)


def test_a_broken_plugin_is_reported_and_the_others_still_load(tmp_path: Path, monkeypatch):
    dist = tmp_path / "broken_plugin-1.0.dist-info"
    dist.mkdir()
    (dist / "METADATA").write_text("Metadata-Version: 2.1\nName: broken-plugin\nVersion: 1.0\n")
    (dist / "entry_points.txt").write_text(
        "[podium.experts]\nexplodes = broken_plugin_module:expert\n"
    )
    (tmp_path / "broken_plugin_module.py").write_text("raise ImportError('missing libfoo')\n")
    monkeypatch.syspath_prepend(str(tmp_path))
    registry = ExpertRegistry()
    registry.load_entry_points()
    assert "unit_convert" in registry.names()
    problem = next(p for p in registry.problems if p.name == "explodes")
    assert "missing libfoo" in problem.reason


def test_cli_lists_builtin_and_plugin_experts(tmp_path: Path):
    proc = subprocess.run(
        [sys.executable, "-m", "podium.cli", "experts", "list", "--json"],
        capture_output=True,
        text=True,
        timeout=120,
        env={**_env(tmp_path)},
    )
    assert proc.returncode == 0, proc.stderr
    listed = json.loads(proc.stdout)
    names = {e["name"]: e for e in listed["experts"]}
    assert {"nl2sql", "retrieval", "unit_convert"} <= set(names)
    assert names["unit_convert"]["origin"].startswith("entry point")


def _env(tmp_path: Path) -> dict[str, str]:
    import os

    return {**os.environ, "PODIUM_HOME": str(tmp_path / "home")}
