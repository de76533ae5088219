"""Which model fills each role when the workspace does not say.

Experts and nodes ask for a role, never a model: ``planner``, ``synthesizer`` and ``large``
(what experts escalate to) go to Qwen2.5-Coder-1.5B, ``small`` (the drafting generator) to
Qwen2.5-Coder-0.5B, ``embeddings`` to MiniLM. Without the ladder every generative role falls
back to the embedded SmolLM2-135M, with one warning per process that says how to install it.
"""

from __future__ import annotations

import logging
import threading

from .catalog import MINILM, QWEN_05B, QWEN_15B, SMOLLM2
from .files import is_installed

log = logging.getLogger("podium.models")
_warned = threading.Event()

FALLBACK_WARNING = (
    "the model ladder (Qwen2.5-Coder 1.5B and 0.5B) is not installed: every generative role "
    "runs on SmolLM2-135M, which answers far less well. Install it with ./scripts/install.sh "
    "(or: {command})"
)


def default_roles() -> dict[str, str]:
    """Role → model URI for what is installed here (the ladder when present)."""
    large = QWEN_15B.uri if is_installed(QWEN_15B) else None
    small = QWEN_05B.uri if is_installed(QWEN_05B) else None
    if (large is None or small is None) and not _warned.is_set():
        _warned.set()
        missing = QWEN_15B if large is None else QWEN_05B
        log.warning(FALLBACK_WARNING.format(command=missing.install_command()))
    big = large or small or SMOLLM2.uri
    return {
        "planner": big,
        "synthesizer": big,
        "large": big,
        "small": small or large or SMOLLM2.uri,
        "embeddings": MINILM.uri,
    }
