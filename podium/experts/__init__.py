"""Experts: the protocol, the registry and the built-in experts."""

from .base import Cost, Evidence, Expert, ExpertContext, ExpertResult, TextRequest
from .decorator import FunctionExpert, expert
from .registry import ENTRY_POINT_GROUP, ExpertRegistry, RegistryProblem

__all__ = [
    "ENTRY_POINT_GROUP",
    "Cost",
    "Evidence",
    "Expert",
    "ExpertContext",
    "ExpertRegistry",
    "ExpertResult",
    "FunctionExpert",
    "RegistryProblem",
    "TextRequest",
    "expert",
]
