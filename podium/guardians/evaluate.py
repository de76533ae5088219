"""``podium eval guard``: detection figures of the shipped classifier on labelled JSONL.

Rows are ``{"text", "label": "attack"|"benign"}``; rows with ``"kind": "document"`` are
scored as third-party documents (the document head, worst sentence), the others as user
prompts (the prompt head). prompt-guardrail alone is measured on the same rows as the
baseline.
"""

from __future__ import annotations

import time
from pathlib import Path
from typing import Any

import numpy as np

from podium.errors import ConfigError

from .classifier import guardify_scores
from .metrics import detection_metrics
from .train import _digest, read_jsonl


def find_file(data: Path) -> Path:
    if data.is_file():
        return data
    path = data / "prompts.jsonl"
    if not path.is_file():
        raise ConfigError(
            f"no prompts.jsonl in {data}",
            hint="give a folder like ../shared/data/guard with labelled JSONL (text, label)",
        )
    return path


def evaluate(data: Path) -> dict[str, Any]:
    from .screening import _Models

    rows = read_jsonl(find_file(data))
    if not rows:
        raise ConfigError(f"{data} has no rows")
    clf, _ = _Models.get()
    documents = all(r.get("kind") == "document" for r in rows)
    head = "document" if documents else "prompt"
    texts = [r["text"] for r in rows]
    y = np.array([int(r["label"] == "attack") for r in rows])
    clf.score_prompt(texts[0])  # warm caches so the timing is per text, not per load
    start = time.perf_counter()
    if documents:
        scores = np.array([s.score for s in clf.score_documents(texts)])
    else:
        scores = np.array([s.score for s in clf.score_prompts(texts)])
    ms = (time.perf_counter() - start) * 1000 / len(texts)  # batched: throughput, not latency
    result = detection_metrics(y, scores, clf.heads[head].threshold)
    result.update(
        head=head,
        ms_per_text=round(ms, 2),
        model=f"prompt-guardrail+minilm-head@{clf.version}",
        trained_on=clf.meta[head].get("data", ""),
        cross_validated=clf.meta[head].get("cv", {}),
    )
    digest = _digest(find_file(data))
    result["in_sample"] = digest == clf.meta[head].get("data")
    base = guardify_scores(texts)
    result["baseline_prompt_guardrail"] = detection_metrics(y, base, 0.5)
    return result
