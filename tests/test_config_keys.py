"""podium.toml refuses keys it does not know: a typo is an error naming the key and the file,
not a setting silently left at its default."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from podium.errors import ConfigError
from podium.workspace import CONFIG_NAME, Workspace

ROOT = Path(__file__).resolve().parents[1]


def write(folder: Path, text: str) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    (folder / CONFIG_NAME).write_text(text)
    return folder


def test_a_misspelt_model_role_is_an_error_naming_the_key_and_the_file(tmp_path):
    ws = write(tmp_path / "ws", 'name = "x"\n[models]\nplaner = "local:smollm2"\n')
    with pytest.raises(ConfigError) as err:
        Workspace.load(ws)
    message = str(err.value)
    assert str(ws / CONFIG_NAME) in message
    assert "key 'planer' in [models]" in message
    assert "did you mean 'planner'?" in message
    assert err.value.hint and "remove the key" in err.value.hint


def test_every_unknown_key_is_named_with_its_section(tmp_path):
    ws = write(
        tmp_path / "ws",
        'nmae = "x"\n'
        "[limits]\nmax_step = 3\n"
        '[[databases]]\nname = "a"\nurl = "sqlite:///a.db"\nulr = "sqlite:///b.db"\n'
        '[store]\nuri = "sqlite:///s.db"\n'
        '[tracing]\nexporter = "console"\nendpiont = "http://x"\n',
    )
    with pytest.raises(ConfigError) as err:
        Workspace.load(ws)
    found = re.findall(r"key '(\w+)' in ([^(]+) \(", str(err.value))
    assert sorted(found) == [
        ("endpiont", "[tracing]"),
        ("max_step", "[limits]"),
        ("nmae", "[workspace]"),
        ("ulr", "[[databases]] #1"),
        ("uri", "[store]"),
    ]


def test_known_keys_still_load(tmp_path):
    ws = write(
        tmp_path / "ws",
        '[workspace]\nname = "x"\n[models]\nplanner = "local:smollm2"\n'
        '[store]\nurl = "sqlite:///s.db"\ncheckpoint_url = "sqlite:///c.db"\n'
        "[limits]\nmax_steps = 3\n",
    )
    config = Workspace.load(ws).config
    assert (config.name, config.models.planner, config.limits.max_steps) == (
        "x",
        "local:smollm2",
        3,
    )
    assert (config.store_url, config.checkpoint_url) == ("sqlite:///s.db", "sqlite:///c.db")


def test_the_demo_and_a_new_workspace_load(demo, tmp_path):
    assert Workspace.load(demo.root).config.name == "demo"
    made = Workspace.init(
        tmp_path / "new", databases=["sqlite:///shop.db"], documents=["docs"], planner="x:y"
    )
    assert Workspace.load(made.root).config.models.planner == "x:y"


def toml_blocks() -> list[tuple[str, str]]:
    """Every ```toml block of the README and docs/: each is a podium.toml a user may copy."""
    blocks = []
    for doc in [ROOT / "README.md", *sorted((ROOT / "docs").glob("*.md"))]:
        for i, block in enumerate(re.findall(r"```toml\n(.*?)```", doc.read_text(), re.S)):
            blocks.append((f"{doc.name}#{i + 1}", block))
    return blocks


@pytest.mark.parametrize(("where", "text"), toml_blocks(), ids=[w for w, _ in toml_blocks()])
def test_every_podium_toml_in_the_docs_loads(where, text, tmp_path):
    Workspace.load(write(tmp_path / "ws", text))


def test_the_approvals_section_refuses_unknown_keys_and_a_limit_of_no_rows(tmp_path):
    ws = write(tmp_path / "a", "[approvals]\nmax_row = 200\n")
    with pytest.raises(
        ConfigError, match=r"key 'max_row' in \[approvals\] \(did you mean 'max_rows'"
    ):
        Workspace.load(ws)
    ws = write(tmp_path / "b", "[approvals]\nmax_rows = 0\n")
    with pytest.raises(ConfigError, match="max_rows"):
        Workspace.load(ws)
    ws = write(tmp_path / "c", '[approvals]\nmax_rows = 200\nbefore = ["nl2sql"]\n')
    approvals = Workspace.load(ws).config.approvals
    assert (approvals.max_rows, approvals.before) == (200, ["nl2sql"])


def test_query_expansion_is_a_models_setting_with_known_values(tmp_path):
    ws = write(tmp_path / "ws", '[models]\nexpand_queries = "auto"\n')
    assert Workspace.load(ws).config.models.expand_queries == "auto"
    bad = write(tmp_path / "bad", '[models]\nexpand_queries = "sometimes"\n')
    with pytest.raises(ConfigError) as err:
        Workspace.load(bad)
    assert "expand_queries" in str(err.value)
