"""A killed ingest leaves the store and the index consistent (or repairable on open), and a
batch of documents written together is all there or not there at all."""

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


def _crash_ingest(url: str, folder: Path, *options: str) -> subprocess.Popen[str]:
    script = Path(__file__).with_name("crash_ingest.py")
    return subprocess.Popen(
        [sys.executable, str(script), url, str(folder), *options],
        stdout=subprocess.PIPE,
        text=True,
        env={**os.environ, "PYTHONPATH": str(ROOT)},
    )


def _whole_documents(store: DocumentStore) -> tuple[int, bool]:
    with store.engine.connect() as conn:
        docs = conn.execute(sa.text("SELECT id, n_chunks FROM documents")).all()
        counts = dict(
            conn.execute(
                sa.text("SELECT document_id, count(*) FROM chunks GROUP BY document_id")
            ).all()
        )
    return len(docs), all(counts.get(doc_id) == n for doc_id, n in docs)


def test_killing_the_ingest_mid_way_leaves_whole_documents_and_a_repairable_index(
    tmp_path: Path,
) -> None:
    folder = tmp_path / "docs"
    folder.mkdir()
    for i in range(TOTAL):
        body = " ".join(f"Fact {j} of note {i} concerns topic {i * 100 + j}." for j in range(3))
        (folder / f"note{i:03d}.md").write_text(f"# Note {i}\n{body}\n")
    url = f"sqlite:///{tmp_path / 'store.sqlite'}"
    proc = _crash_ingest(url, folder, "--batch-chunks", "1")  # one document per batch
    assert proc.stdout is not None
    for line in proc.stdout:
        if line.startswith("5/"):
            break
    proc.send_signal(signal.SIGKILL)
    proc.wait(timeout=30)

    store = DocumentStore(url)
    stored, whole = _whole_documents(store)
    assert 5 <= stored < TOTAL, "the kill landed mid-ingest"
    assert whole, "no half-written document"

    state = store.check()
    assert state.extra == 0  # the index never holds vectors the store does not
    repaired = store.sync()
    assert repaired["added"] == state.missing
    assert store.check().ok

    report = store.ingest([folder])  # finishing the job re-reads only what is missing
    assert len(report.added) == TOTAL - stored and len(report.unchanged) == stored
    assert store.check().ok
    assert store.search("topic 1501", k=1, mode="bm25")[0].source.endswith("note015.md")


def test_a_batch_killed_in_its_commit_is_absent_whole_and_the_batch_before_it_present_whole(
    tmp_path: Path,
) -> None:
    folder = tmp_path / "docs"
    folder.mkdir()
    files = 120
    for i in range(files):  # about two chunks each: batches of 100 chunks hold ~50 files
        body = " ".join(f"Entry {j} of report {i} records value {i * 1000 + j}." for j in range(30))
        (folder / f"report{i:03d}.md").write_text(f"# Report {i}\n{body}\n")
    url = f"sqlite:///{tmp_path / 'store.sqlite'}"
    proc = _crash_ingest(url, folder, "--batch-chunks", "100", "--die-in-batch", "2")
    written, _ = proc.communicate(timeout=600)
    assert proc.returncode == -signal.SIGKILL, written
    reported = [line for line in written.splitlines() if "/" in line]  # batch 1's files

    store = DocumentStore(url)
    stored, whole = _whole_documents(store)
    assert 10 < len(reported) < files - 10, "the first batch was reported, then the kill"
    assert stored == len(reported), "exactly the first batch: none of the killed one"
    assert whole
    assert store.check().extra == 0
    store.sync()
    assert store.check().ok

    report = store.ingest([folder])
    assert (len(report.added), len(report.unchanged)) == (files - stored, stored)
    assert _whole_documents(store) == (files, True) and store.check().ok
