"""Every command module of the CLI package is registered, ``podium --help`` shows it, and no
module below the CLI imports it."""

from __future__ import annotations

import importlib
import pkgutil
import re

import pytest
from typer.testing import CliRunner

import podium.cli
from podium.cli import app

# The module that builds the app; ``podium.cli.app`` itself is the Typer app it exports.
cli_app = importlib.import_module("podium.cli.app")


def _command_modules_on_disk() -> set[str]:
    names: set[str] = set()
    for info in pkgutil.iter_modules(podium.cli.__path__):
        if info.name.startswith("__"):  # __main__ runs the CLI when imported
            continue
        module = importlib.import_module(f"podium.cli.{info.name}")
        if hasattr(module, "register"):
            names.add(module.__name__)
    return names


def _listed_commands(*args: str) -> list[str]:
    result = CliRunner().invoke(app, [*args, "--help"])
    assert result.exit_code == 0, result.output
    panel = result.output.split("Commands ")[1]
    return re.findall(r"^│ (\S+)  ", panel, flags=re.MULTILINE)


def test_every_module_with_a_register_function_is_registered() -> None:
    registered = {m.__name__ for m in cli_app.COMMAND_MODULES}
    assert _command_modules_on_disk() == registered


@pytest.mark.parametrize(
    ("group", "commands"),
    [
        (
            (),
            [
                *("run", "resume", "approve", "init", "ingest", "sql", "match", "serve"),
                *("bench", "feedback", "learn", "experts", "runs", "eval", "train", "index"),
                *("models", "audit", "export"),
            ],
        ),
        (("eval",), ["retrieval", "nl2sql", "schema_match", "fact_check", "guard"]),
        (("train",), ["retrieval", "schema_match", "fact_check", "guard"]),
        (("index",), ["check", "rebuild", "remove"]),
        (("models",), ["list", "verify", "prepare"]),
        (("audit",), ["verify"]),
        (("export",), ["examples"]),
    ],
)
def test_help_lists_every_command_in_registration_order(group, commands) -> None:
    assert _listed_commands(*group) == commands
