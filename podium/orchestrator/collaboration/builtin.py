"""The built-in collaboration policies, registered where Podium is composed.

Importing the collaboration package registers nothing. :class:`~podium.runner.Podium` and
:func:`~.nodes.collaboration_node` call :func:`register_builtin_policies`; a graph run with
a hand-built ``PodiumContext`` and plan-step policies calls it once itself.
"""

from __future__ import annotations

from podium.orchestrator.policies import register_policy

from .policies import BUILTIN_POLICIES

_registered = False


def register_builtin_policies() -> None:
    """Make ``single``, ``large``, ``vote``, ``verify``, ``cascade``, ``hints`` and
    ``draft_finalise`` available to steps.

    Registers once per process, so a kind registered later with
    :func:`~podium.orchestrator.policies.register_policy` keeps replacing the built-in one.
    """
    global _registered
    if _registered:
        return
    for kind, runner in BUILTIN_POLICIES.items():
        register_policy(kind, runner)
    _registered = True
