"""Fixtures for the scale tests: a real PostgreSQL server (scripts/postgres.sh) and a small
local Ray (2 CPUs, no dashboard), each started once per session and stopped afterwards."""

from __future__ import annotations

import os
import shutil
import subprocess
import tempfile
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest

from ..services import unavailable

ROOT = Path(__file__).resolve().parents[2]
SCRIPT = ROOT / "scripts" / "postgres.sh"


@pytest.fixture(scope="session")
def pg_server() -> Iterator[str]:
    """The URL of a PostgreSQL server: $PODIUM_TEST_PG_URL (scripts/test.sh sets it), else one
    this session starts with scripts/postgres.sh in a temporary folder and stops at the end."""
    given = os.environ.get("PODIUM_TEST_PG_URL")
    if given:
        yield given
        return
    folder = tempfile.mkdtemp(prefix="podium-pg-")
    proc = subprocess.run(
        [str(SCRIPT), "start", folder], capture_output=True, text=True, timeout=600
    )
    if proc.returncode != 0:
        shutil.rmtree(folder, ignore_errors=True)
        unavailable(f"PostgreSQL could not start (scripts/postgres.sh): {proc.stderr.strip()}")
    try:
        yield proc.stdout.strip().splitlines()[-1]
    finally:
        subprocess.run([str(SCRIPT), "stop", folder], capture_output=True, timeout=120)
        shutil.rmtree(folder, ignore_errors=True)


@pytest.fixture
def pg_url(pg_server: str) -> Iterator[str]:
    """A fresh database on the session's server for one test, dropped afterwards."""
    import sqlalchemy as sa

    name = f"t_{uuid.uuid4().hex[:10]}"
    admin = sa.create_engine(pg_server, isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(sa.text(f'CREATE DATABASE "{name}"'))
    url = sa.engine.make_url(pg_server).set(database=name).render_as_string(hide_password=False)
    try:
        yield url
    finally:
        with admin.connect() as conn:
            conn.execute(sa.text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        admin.dispose()


@pytest.fixture(scope="session")
def ray_cluster() -> Iterator[None]:
    """One small local Ray for the session: 2 CPUs, no dashboard; shut down at the end."""
    ray = pytest.importorskip("ray", reason="Ray is not installed: pip install 'podium[scale]'")
    ray.init(num_cpus=2, include_dashboard=False, log_to_driver=False, configure_logging=False)
    try:
        yield
    finally:
        ray.shutdown()


@pytest.fixture
def ray_executor(ray_cluster: None) -> Iterator[object]:
    """Build RayExecutors on the session's Ray; their actors are killed after the test."""
    from podium.executors import RayExecutor

    made: list[RayExecutor] = []

    def build(**fields: object) -> RayExecutor:
        made.append(RayExecutor(**fields))
        return made[-1]

    yield build
    for executor in made:
        executor.close()
