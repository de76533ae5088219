"""Guardians: small models and checks that screen what enters and leaves a run."""

from .audit import AuditLog
from .base import Action, Guardian, GuardInput, Stage, Verdict
from .limits import InputLimits, check_text
from .policy import GuardPolicy
from .privacy import PIIGuardian
from .screening import InjectionGuardian, screen_documents
from .vault import Vault, VaultedChatModel

__all__ = [
    "Action",
    "AuditLog",
    "GuardInput",
    "GuardPolicy",
    "Guardian",
    "InjectionGuardian",
    "InputLimits",
    "PIIGuardian",
    "Stage",
    "Vault",
    "VaultedChatModel",
    "Verdict",
    "check_text",
    "screen_documents",
]
