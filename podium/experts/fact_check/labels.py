"""The three verdicts a verifier scores, and logits turned into probabilities over them.

Shared by every verifier backend (:mod:`.verifier`, :mod:`.cross`) and their training.
"""

from __future__ import annotations

import numpy as np

LABELS: tuple[str, str, str] = ("SUPPORTS", "REFUTES", "NOT_ENOUGH_INFO")
SUPPORTS, REFUTES, NEI = range(3)


def softmax(z: np.ndarray) -> np.ndarray:
    """Row-wise softmax: (n, k) logits -> (n, k) probabilities whose rows sum to 1."""
    z = z - z.max(axis=1, keepdims=True)
    e = np.exp(z)
    return e / e.sum(axis=1, keepdims=True)
