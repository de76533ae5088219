"""podium.toml chooses the executor and the checkpoint database; in-process stays the default."""

from __future__ import annotations

import pytest

from podium import Podium
from podium.errors import ConfigError
from podium.executors import ExecutorSpec, make_executor
from podium.workspace import Workspace


def _load(tmp_path, text: str) -> Workspace:
    (tmp_path / "podium.toml").write_text(text)
    return Workspace.load(tmp_path)


def test_executor_ray_in_one_word_or_as_a_table(tmp_path):
    assert _load(tmp_path, 'executor = "ray"\n').config.executor == ExecutorSpec(kind="ray")
    ws = _load(tmp_path, '[executor]\nkind = "ray"\naddress = "auto"\nreplicas = 3\n')
    spec = ws.config.executor
    assert (spec.kind, spec.address, spec.replicas) == ("ray", "auto", 3)
    executor = make_executor(spec)
    assert type(executor).__name__ == "RayExecutor"
    assert executor.spec.replicas == 3  # nothing started yet: Ray starts on the first call


def test_a_bad_executor_setting_names_the_field(tmp_path):
    with pytest.raises(ConfigError, match="executor"):
        _load(tmp_path, '[executor]\nkind = "dask"\n')
    with pytest.raises(ConfigError, match="replicas"):
        _load(tmp_path, '[executor]\nkind = "ray"\nreplicas = 0\n')


def test_in_process_is_the_default_and_the_checkpoints_stay_in_sqlite(workspace):
    podium = Podium(workspace=workspace, builtins=False, plugins=False, warmup=False)
    assert podium.executor is None
    assert workspace.checkpoint_url == f"sqlite:///{workspace.checkpoint_path}"


def test_store_table_takes_a_checkpoint_url(tmp_path):
    url = "postgresql+psycopg://u:p@db:5432/podium"
    ws = _load(tmp_path, f'[store]\nurl = "sqlite:///s.db"\ncheckpoint_url = "{url}"\n')
    assert ws.store_url == f"sqlite:///{tmp_path.resolve() / 's.db'}"
    assert ws.checkpoint_url == url
    ws = _load(tmp_path, f'[store]\nurl = "{url}"\n')
    assert ws.checkpoint_url == url  # follows a PostgreSQL store by default
