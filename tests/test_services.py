"""A service that cannot start skips a test locally and fails it under CI."""

from __future__ import annotations

import pytest

from .services import unavailable


def test_a_missing_service_skips_the_test_outside_ci(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("CI", raising=False)
    with pytest.raises(pytest.skip.Exception, match="no Chromium at /nowhere"):
        unavailable("no Chromium at /nowhere")


def test_a_missing_service_fails_the_test_under_ci(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("CI", "true")
    with pytest.raises(pytest.fail.Exception, match=r"PostgreSQL could not start .*CI=true"):
        unavailable("PostgreSQL could not start")
