"""The two halves of a retrieval benchmark's queries: ``dev`` (fusion weights and the confidence
calibrator are chosen on it) and ``test`` (the figures reported as honest). The evaluation, the
calibrator and the benchmark tasks all split by this one function."""

from __future__ import annotations

import hashlib


def split_of(query_id: str) -> str:
    """``dev`` or ``test``: a stable half split by hash of the query id."""
    return "dev" if hashlib.sha1(query_id.encode()).digest()[0] % 2 == 0 else "test"
