"""Guardians are on by default: in a workspace made by ``podium init`` and in the demo."""

from __future__ import annotations

import tomllib

from typer.testing import CliRunner

from podium.cli import app
from podium.workspace import Workspace


def test_podium_init_turns_the_guardians_on(tmp_path):
    result = CliRunner().invoke(app, ["init", str(tmp_path / "shop")])
    assert result.exit_code == 0, result.output
    saved = tomllib.loads((tmp_path / "shop" / "podium.toml").read_text())
    assert saved["guardians"]["enabled"] is True
    policy = Workspace.load(tmp_path / "shop").config.guardians
    assert policy.enabled and policy.injection == "block" and policy.documents == "drop"


def test_the_demo_runs_with_its_guardians_on(demo):
    assert demo.config.guardians.enabled


def test_podium_init_can_leave_the_guardians_off_when_asked(tmp_path):
    result = CliRunner().invoke(app, ["init", str(tmp_path / "bare"), "--no-guardians"])
    assert result.exit_code == 0, result.output
    assert not Workspace.load(tmp_path / "bare").config.guardians.enabled
