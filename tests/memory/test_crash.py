"""A killed ingest leaves the store and the index consistent (or repairable on open)."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
from pathlib import Path

import pytest
import sqlalchemy as sa

from podium.memory.documents import DocumentStore

pytestmark = pytest.mark.slow

ROOT = Path(__file__).resolve().parents[2]
TOTAL = 24


def test_killing_the_ingest_mid_way_leaves_whole_documents_and_a_repairable_index(
    tmp_path: Path,
) -> None:
    folder = tmp_path / "docs"
    folder.mkdir()
    for i in range(TOTAL):
        body = " ".join(f"Fact {j} of note {i} concerns topic {i * 100 + j}." for j in range(3))
        (folder / f"note{i:03d}.md").write_text(f"# Note {i}\n{body}\n")
    url = f"sqlite:///{tmp_path / 'store.sqlite'}"
    proc = subprocess.Popen(
        [sys.executable, str(Path(__file__).with_name("crash_ingest.py")), url, str(folder)],
        stdout=subprocess.PIPE,
        text=True,
        env={**os.environ, "PYTHONPATH": str(ROOT)},
    )
    assert proc.stdout is not None
    for line in proc.stdout:
        if line.startswith("5/"):
            break
    proc.send_signal(signal.SIGKILL)
    proc.wait(timeout=30)

    store = DocumentStore(url)
    with store.engine.connect() as conn:
        docs = conn.execute(sa.text("SELECT id, n_chunks FROM documents")).all()
        counts = dict(
            conn.execute(
                sa.text("SELECT document_id, count(*) FROM chunks GROUP BY document_id")
            ).all()
        )
    assert 5 <= len(docs) < TOTAL, "the kill landed mid-ingest"
    assert all(counts.get(doc_id) == n for doc_id, n in docs), "no half-written document"

    state = store.check()
    assert state.extra == 0  # the index never holds vectors the store does not
    repaired = store.sync()
    assert repaired["added"] == state.missing
    assert store.check().ok

    report = store.ingest([folder])  # finishing the job re-reads only what is missing
    assert len(report.added) == TOTAL - len(docs) and len(report.unchanged) == len(docs)
    assert store.check().ok
    assert store.search("topic 1501", k=1, mode="bm25")[0].source.endswith("note015.md")
