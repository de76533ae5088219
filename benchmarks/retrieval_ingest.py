"""Ingestion speed against the bare encoder, same texts, same process.

    PYTHONPATH=. python benchmarks/retrieval_ingest.py [--data DIR] [--docs 400] [--json]

Takes the first ``--docs`` documents of a BEIR folder (default: the SciFact set in
benchmarks/data/scifact), chunks them exactly as the store does, and times:
1. the bare encoder on those chunk passages (``embedder.encode``), twice — before and after
   the store run, so drift in the machine's load shows and is averaged out;
2. ``DocumentStore.add_texts`` of the same records into a fresh SQLite store (parse, chunk,
   encode, write, index, save).
The figure is store chunks/s ÷ encoder chunks/s; the goal is ≥ 0.8. On a shared machine the
two bare runs can differ by 20 %, so the store run also times its own encoder calls (the real
encoder, wrapped in a clock): ``encoder_share`` = time inside the encoder ÷ store time is the
load-independent form of the same ratio.

The store does not encode the chunk passages themselves: it encodes each chunk's sentences
under its title (a chunk of one sentence whole, a sentence shared by two overlapping chunks
once), one encoder call per batch, and takes a chunk's vector as the mean of its sentences'.
``sentences`` counts those texts, ``encoder_s`` times the bare encoder on the chunk passages
and on them, and ``ratio_all_texts`` is the bare encoder's time on what the store encodes ÷ the
store's time: what the store adds to the encoding it does.
"""

from __future__ import annotations

import argparse
import json
import tempfile
import time
from pathlib import Path

from podium.experts.retrieval.evaluate import load_beir
from podium.memory.documents import DocumentStore, passage
from podium.memory.documents.sync import sentence_passages
from podium.tools.documents import ParsedDocument, Section, chunk_document, parse_markdown

DATA = Path(__file__).resolve().parent / "data" / "scifact"


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--data", type=Path, default=DATA)
    parser.add_argument("--docs", type=int, default=400)
    parser.add_argument("--json", action="store_true")
    args = parser.parse_args()
    data = load_beir(args.data)
    records = [
        {"source": doc_id, "text": doc["text"], "title": doc["title"]}
        for doc_id, doc in list(data.corpus.items())[: args.docs]
    ]
    with tempfile.TemporaryDirectory() as tmp:
        store = DocumentStore(f"sqlite:///{Path(tmp) / 'ingest.sqlite'}")
        passages = []
        sentences = []
        for rec in records:
            doc = ParsedDocument(
                source=rec["source"],
                title=rec["title"],
                sections=[
                    Section(text=s.text, heading=s.heading or rec["title"])
                    for s in parse_markdown(rec["text"])
                ],
                content_hash="",
                kind="record",
            )
            chunks = chunk_document(doc, max_chars=store.max_chars, overlap=store.overlap)
            passages += [passage(c.title, c.text) for c in chunks]
            sentences += [t for c in chunks for t in sentence_passages(c.title, c.text)]
        sentences = list(dict.fromkeys(sentences))  # as the store encodes them: each once
        encoder = store.embedder
        encoder.encode(passages[:64])  # warm up (weights, threads)

        seconds: list[tuple[float, float]] = []

        def bare() -> float:
            t0 = time.perf_counter()
            encoder.encode(passages)
            t1 = time.perf_counter()
            encoder.encode(sentences)
            seconds.append((t1 - t0, time.perf_counter() - t1))
            return len(passages) / (t1 - t0)

        inside = [0.0]
        real_encode = encoder.encode

        def timed_encode(texts: list[str], **kw: object) -> object:
            t0 = time.perf_counter()
            try:
                return real_encode(texts, **kw)
            finally:
                inside[0] += time.perf_counter() - t0

        before = bare()
        encoder.encode = timed_encode
        report = store.add_texts(records)
        encoder.encode = real_encode
        after = bare()
        store.close()
    encoder_rate = (before + after) / 2
    chunk_s = sum(c for c, _ in seconds) / len(seconds)
    sentence_s = sum(x for _, x in seconds) / len(seconds)
    result = {
        "documents": len(records),
        "chunks": report.chunks,
        "encoder_chunks_per_s": [round(before, 1), round(after, 1)],
        "store_chunks_per_s": round(report.chunks_per_s, 1),
        "ratio": round(report.chunks_per_s / encoder_rate, 3),
        "encoder_share": round(inside[0] / report.seconds, 3),
        "sentences": len(sentences),
        "encoder_s": {"chunks": round(chunk_s, 2), "sentences": round(sentence_s, 2)},
        "store_s": round(report.seconds, 2),
        "ratio_all_texts": round(sentence_s / report.seconds, 3),
    }
    assert report.chunks == len(passages), (report.chunks, len(passages))
    print(json.dumps(result) if args.json else "\n".join(f"{k}: {v}" for k, v in result.items()))


if __name__ == "__main__":
    main()
