"""Guardians: small models and checks that screen what enters and leaves a run."""

from .base import Action, Guardian, GuardInput, Stage, Verdict
from .limits import InputLimits, check_text

__all__ = ["Action", "GuardInput", "Guardian", "InputLimits", "Stage", "Verdict", "check_text"]
