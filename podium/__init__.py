"""Podium: a large model plans, a team of small expert models does the work.

from podium import Podium, expert, Expert, ExpertResult

The names below are the supported surface (``tests/test_public_api.py`` pins them); the
graph pieces for building your own workflow are in :mod:`podium.graphs`.
"""

from podium.errors import (
    BudgetExceeded,
    ConfigError,
    ExpertError,
    GuardrailBlocked,
    InputRejected,
    ModelUnavailable,
    PlanError,
    PodiumError,
    RegistryError,
    RunNotFound,
    SQLRefused,
    StoreUnavailable,
)
from podium.experts import Cost, Evidence, Expert, ExpertContext, ExpertResult, expert
from podium.records import PlanRecord, RunRecord, StepRecord
from podium.runner import Podium, RunResult
from podium.workspace import Workspace

__all__ = [
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
__version__ = "0.1.0"
