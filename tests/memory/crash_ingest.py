"""Ingest a folder, printing each file as its batch is written (used by test_crash.py).

    python crash_ingest.py URL FOLDER [--batch-chunks N] [--die-in-batch K]

``--die-in-batch K`` kills this process with SIGKILL inside the K-th batch's transaction,
after all its rows are flushed to the database and just before the commit: the harshest
moment for a batch to be cut.
"""

from __future__ import annotations

import argparse
import os
import signal
from pathlib import Path

from sqlalchemy import event
from sqlalchemy.orm import Session

from podium.memory.documents import DocumentStore
from podium.memory.tables import ChunkRow

if __name__ == "__main__":
    parser = argparse.ArgumentParser()
    parser.add_argument("url")
    parser.add_argument("folder", type=Path)
    parser.add_argument("--batch-chunks", type=int, default=512)
    parser.add_argument("--die-in-batch", type=int, default=0)
    args = parser.parse_args()
    store = DocumentStore(args.url)
    commits = 0

    @event.listens_for(Session, "before_commit")
    def _die(session: Session) -> None:
        global commits
        if any(isinstance(o, ChunkRow) for o in session.identity_map.values()):
            commits += 1
            if commits == args.die_in_batch:
                os.kill(os.getpid(), signal.SIGKILL)

    def progress(source: str, n: int, total: int) -> None:
        print(f"{n}/{total} {source}", flush=True)

    store.ingest([args.folder], progress=progress, batch_chunks=args.batch_chunks)
    print("done", flush=True)
