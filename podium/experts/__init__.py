"""Experts: the protocol, the registry, the built-in experts and the guardians."""

from .base import Cost, Evidence, Expert, ExpertContext, ExpertResult, TextRequest
from .decorator import FunctionExpert, expert
from .registry import ENTRY_POINT_GROUP, ExpertRegistry, ExpertSpec, RegistryProblem

__all__ = [
    "ENTRY_POINT_GROUP",
    "Cost",
    "Evidence",
    "Expert",
    "ExpertContext",
    "ExpertRegistry",
    "ExpertResult",
    "ExpertSpec",
    "FunctionExpert",
    "RegistryProblem",
    "TextRequest",
    "expert",
]
