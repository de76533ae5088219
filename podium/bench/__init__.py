"""``podium bench``: what each collaboration strategy buys, measured on the same examples."""

from .core import BenchReport, StrategyScore, run_bench
from .tasks import TASKS

__all__ = ["TASKS", "BenchReport", "StrategyScore", "run_bench"]
