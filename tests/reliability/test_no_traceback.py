"""A bug in a command reaches the user as one line and exit 1, not a traceback."""

from __future__ import annotations

import importlib

import pytest

import podium.cli

# The module that defines ``main``; ``podium.cli.app`` itself is the Typer app it exports.
cli_app = importlib.import_module("podium.cli.app")


def test_an_unexpected_error_in_a_command_is_one_line_not_a_traceback(monkeypatch, capsys):
    def broken() -> None:
        raise IndexError("index 2 is out of bounds for axis 1 with size 1")

    monkeypatch.setattr(cli_app, "app", broken)
    monkeypatch.delenv("PODIUM_DEBUG", raising=False)
    with pytest.raises(SystemExit) as info:
        podium.cli.main()
    assert info.value.code == 1
    shown = capsys.readouterr().err
    assert "internal error: IndexError: index 2 is out of bounds" in " ".join(shown.split())
    assert "Traceback" not in shown and "please report it" in shown

    monkeypatch.setenv("PODIUM_DEBUG", "1")  # the developer's way to see it
    with pytest.raises(IndexError):
        podium.cli.main()


def test_a_podium_error_no_command_caught_is_the_users_to_fix_not_a_bug(
    monkeypatch, capsys, tmp_path
):
    # `podium models list -w DIR` on a folder that is not a workspace let ConfigError escape
    # its command, and it was reported as "internal error ... this is a bug in Podium".
    monkeypatch.setattr("sys.argv", ["podium", "models", "list", "-w", str(tmp_path / "none")])
    monkeypatch.delenv("PODIUM_DEBUG", raising=False)
    with pytest.raises(SystemExit) as info:
        podium.cli.main()
    assert info.value.code == 2  # bad input or configuration
    shown = " ".join(capsys.readouterr().err.split())
    assert "is not a Podium workspace" in shown and "podium init" in shown
    assert "internal error" not in shown and "Traceback" not in shown
