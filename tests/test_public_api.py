"""The public surface: what ``from podium import ...`` offers is declared and pinned."""

from __future__ import annotations

import podium

PUBLIC = [
    "BudgetExceeded",
    "ConfigError",
    "Cost",
    "Evidence",
    "Expert",
    "ExpertContext",
    "ExpertError",
    "ExpertResult",
    "GuardrailBlocked",
    "InputRejected",
    "ModelUnavailable",
    "PlanError",
    "PlanRecord",
    "Podium",
    "PodiumError",
    "RegistryError",
    "RunNotFound",
    "RunRecord",
    "RunResult",
    "SQLRefused",
    "StepRecord",
    "StoreUnavailable",
    "Workspace",
    "expert",
]


def test_all_lists_exactly_the_supported_names():
    assert sorted(podium.__all__) == PUBLIC
    assert len(set(podium.__all__)) == len(podium.__all__)


def test_every_supported_name_imports_from_the_package():
    for name in PUBLIC:
        assert getattr(podium, name) is not None, name
    namespace: dict[str, object] = {}
    exec("from podium import *", namespace)
    assert sorted(k for k in namespace if not k.startswith("__")) == PUBLIC


def test_every_exported_error_is_a_podium_error():
    exported = [getattr(podium, name) for name in PUBLIC]
    errors = [e for e in exported if isinstance(e, type) and issubclass(e, BaseException)]
    assert len(errors) == 12
    assert all(issubclass(e, podium.PodiumError) for e in errors)
