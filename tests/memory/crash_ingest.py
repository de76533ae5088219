"""Ingest many files slowly enough to be killed in the middle (used by test_crash.py)."""

from __future__ import annotations

import sys
from pathlib import Path

from podium.memory.documents import DocumentStore

if __name__ == "__main__":
    url, folder = sys.argv[1], Path(sys.argv[2])
    store = DocumentStore(url)

    def progress(source: str, n: int, total: int) -> None:
        print(f"{n}/{total} {source}", flush=True)

    store.ingest([folder], progress=progress)
    print("done", flush=True)
