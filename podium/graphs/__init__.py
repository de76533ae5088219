"""Ready graphs built from Podium's nodes, and the helpers to build your own."""

from .default import build_orchestrate_graph
from .pipeline import fixed_plan, pipeline

__all__ = ["build_orchestrate_graph", "fixed_plan", "pipeline"]
