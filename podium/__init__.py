"""Podium: a large model plans, a team of small expert models does the work.

from podium import Podium, expert, Expert, ExpertResult
"""

from podium.errors import PodiumError
from podium.experts import Expert, ExpertContext, ExpertResult, expert
from podium.runner import Podium, RunResult

__all__ = [
    "Expert",
    "ExpertContext",
    "ExpertResult",
    "Podium",
    "PodiumError",
    "RunResult",
    "expert",
]
__version__ = "0.1.0"
