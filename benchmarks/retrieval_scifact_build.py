"""Build the BEIR-format SciFact folder in benchmarks/data/scifact from the original release.

    python benchmarks/retrieval_scifact_build.py SCIFACT_ZIP BEIR_TEST_QRELS [--out DIR]

``SCIFACT_ZIP`` is the SciFact release as CSV files (``corpus_train.csv`` with ``doc_id``,
``title`` and ``abstract`` — a list of sentences — and ``claims_validation.csv``), here taken
from sumithra-p-v/claimverifier @ b42f1c3, ``data/scifact.zip``. ``BEIR_TEST_QRELS`` is BEIR's
``scifact/qrels/test.tsv`` (Josh1108/MixtureRetrievers @ deff166, ``data/scifact/qrels/
test.tsv``). BEIR builds SciFact the same way: a document is the abstract's sentences joined by
one space under the paper's title, a query is a claim of SciFact's dev split, and the qrels are
the documents the claim cites (300 queries, 5,183 documents, 339 judgements).

The corpus is written gzipped (2.9 MB instead of 7.9 MB); ``load_beir`` reads either form.
Licences: claims CC BY 4.0, abstracts ODC-By 1.0 (S2ORC), see SOURCE.md in the output folder.
"""

from __future__ import annotations

import argparse
import csv
import gzip
import hashlib
import io
import json
import tokenize
import zipfile
from ast import literal_eval
from pathlib import Path

OUT = Path(__file__).resolve().parent / "data" / "scifact"


def sentences(cell: str) -> list[str]:
    """The abstract's sentences from the CSV cell, a printed array of string literals
    (``['First.'\\n 'Second.']``, no commas): each literal is read on its own so adjacent ones
    are not glued together the way Python concatenates them."""
    tokens = tokenize.generate_tokens(io.StringIO(cell).readline)
    return [literal_eval(t.string) for t in tokens if t.type == tokenize.STRING]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("zip", type=Path)
    parser.add_argument("qrels", type=Path)
    parser.add_argument("--out", type=Path, default=OUT)
    args = parser.parse_args()
    csv.field_size_limit(1 << 30)
    with zipfile.ZipFile(args.zip) as zf:
        corpus_rows = list(csv.DictReader(io.TextIOWrapper(zf.open("corpus_train.csv"), "utf-8")))
        claims = list(csv.DictReader(io.TextIOWrapper(zf.open("claims_validation.csv"), "utf-8")))
    rows = [
        ln.rstrip("\r")
        for ln in args.qrels.read_text(encoding="utf-8").splitlines()[1:]
        if ln.strip()
    ]
    qrels = [r.split("\t") for r in rows]
    judged = {q for q, _, _ in qrels}
    (args.out / "qrels").mkdir(parents=True, exist_ok=True)
    corpus = [
        {"_id": r["doc_id"], "title": r["title"], "text": " ".join(sentences(r["abstract"]))}
        for r in corpus_rows
    ]
    body = "".join(json.dumps(d, ensure_ascii=False) + "\n" for d in corpus).encode()
    with gzip.GzipFile(args.out / "corpus.jsonl.gz", "wb", mtime=0) as fh:
        fh.write(body)
    seen: dict[str, str] = {}
    for c in claims:  # one row per evidence: the claim repeats
        if c["id"] in judged:
            seen.setdefault(c["id"], c["claim"])
    lines = [json.dumps({"_id": q, "text": t}, ensure_ascii=False) for q, t in seen.items()]
    (args.out / "queries.jsonl").write_text("".join(f"{ln}\n" for ln in lines), encoding="utf-8")
    (args.out / "qrels" / "test.tsv").write_text(
        "query-id\tcorpus-id\tscore\n" + "".join("\t".join(r) + "\n" for r in qrels),
        encoding="utf-8",
    )
    missing = {d for _, d, _ in qrels} - {d["_id"] for d in corpus}
    print(
        json.dumps(
            {
                "documents": len(corpus),
                "queries": len(seen),
                "judgements": len(qrels),
                "judged documents missing from the corpus": len(missing),
                "corpus sha256 (uncompressed)": hashlib.sha256(body).hexdigest(),
            }
        )
    )


if __name__ == "__main__":
    main()
