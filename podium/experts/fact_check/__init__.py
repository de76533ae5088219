"""Fact checking: split text into claims, verify each against evidence, flag contradictions.

- :class:`FactCheckExpert` — the expert the planner calls ("is it true that ...").
- :class:`FactCheckGuardian` — the ``guard_out`` check of every answer against the run's evidence.
- :func:`load_verifier` — the shipped verifier (a calibrated head on frozen MiniLM features),
  the MiniLM cross-encoder (``"cross"``, top layers fine-tuned by ``podium train fact_check``),
  or an NLI cross-encoder by path.
"""

from .checker import ClaimCheck, FactChecker, Source
from .claims import split_claims
from .cross import CrossVerifier
from .expert import FactCheckExpert, FactCheckRequest
from .guardian import FactCheckGuardian
from .labels import LABELS
from .verifier import CrossEncoderVerifier, TrainedVerifier, Verifier, load_verifier

__all__ = [
    "LABELS",
    "ClaimCheck",
    "CrossEncoderVerifier",
    "CrossVerifier",
    "FactCheckExpert",
    "FactCheckGuardian",
    "FactCheckRequest",
    "FactChecker",
    "Source",
    "TrainedVerifier",
    "Verifier",
    "load_verifier",
    "split_claims",
]
