"""Collaboration mechanisms between small experts and the large model.

Usable three ways: as plain async functions (``vote``, ``cross_verify``, ``cascade``,
``draft_finalise``), as a plan step's ``policy`` (see :mod:`.policies`; Podium registers
them with :func:`register_builtin_policies`), and as nodes in your own graph
(:func:`collaboration_node`).
"""

from podium.metrics import ece

from .agreement import SimilarText, same_output, same_rows
from .builtin import register_builtin_policies
from .calibration import Calibrator, fit_calibrator
from .cascade import Threshold, cascade, fit_threshold
from .draft import draft_finalise
from .hints import SLMHint, render_hints, with_hints
from .ledger import Decision, DecisionLedger
from .llm import LargeModelExpert
from .nodes import collaboration_node
from .verify import cross_verify
from .vote import VoteRule, vote, vote_calls

__all__ = [
    "Calibrator",
    "Decision",
    "DecisionLedger",
    "LargeModelExpert",
    "SLMHint",
    "SimilarText",
    "Threshold",
    "VoteRule",
    "cascade",
    "collaboration_node",
    "cross_verify",
    "draft_finalise",
    "ece",
    "fit_calibrator",
    "fit_threshold",
    "register_builtin_policies",
    "render_hints",
    "same_output",
    "same_rows",
    "vote",
    "vote_calls",
    "with_hints",
]
