"""The attack classifier: ``prompt-guardrail`` as the first layer, a head trained by Podium on
the embedded MiniLM encoder as the second.

Two heads share one feature vector (the MiniLM embedding of the normalised text plus
prompt-guardrail's injection probability):

- ``prompt``: is a user's request an attack (a jailbreak or a plainly harmful request)?
- ``document``: does a passage of third-party data carry an instruction aimed at the model
  (indirect injection)? Documents are scored sentence by sentence, the worst one counts,
  because an instruction hidden in the middle of a long email is diluted in a whole-text
  embedding.

The weights are a few KB (``weights/guard_head.npz``) and rebuilt by ``podium train guard``.
"""

from __future__ import annotations

import json
import re
import threading
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal

import numpy as np

from podium.errors import ModelUnavailable

from .normalize import Variant, variants

Head = Literal["prompt", "document"]
WEIGHTS = Path(__file__).parent / "weights" / "guard_head.npz"
# Sentence ends: punctuation then space, or a full stop glued to a capital (".If", as in
# pasted emails); not the dots inside addresses and domains ("example.com").
_SENTENCE = re.compile(r"(?<=[.!?])\s+|(?<=[a-z0-9][.!?])(?=[A-Z])|\s*\|\s*|\n+")


def guardify_scores(texts: list[str]) -> np.ndarray:
    """prompt-guardrail's probability that each text is an injection (TF-IDF + LR)."""
    clf, vectorizer = _guardify()
    column = list(clf.classes_).index(1)
    return np.asarray(clf.predict_proba(vectorizer.transform(texts))[:, column], dtype=np.float32)


_GUARDIFY: tuple[Any, Any] | None = None
_GLOCK = threading.Lock()


def _guardify() -> tuple[Any, Any]:
    """prompt-guardrail's classifier and vectorizer (its public ``detect`` scores one text at
    a time and returns the winning class's probability; we need P(injection) in batches)."""
    global _GUARDIFY
    with _GLOCK:
        if _GUARDIFY is None:
            try:
                from guardify import LogisticRegressionGuardrail
            except ImportError as exc:
                raise ModelUnavailable(
                    "prompt-guardrail (import guardify) is not installed",
                    hint="pip install prompt-guardrail==1.0.1 scikit-learn==1.7.2",
                ) from exc
            guard = LogisticRegressionGuardrail()
            _GUARDIFY = (guard._clf, guard._vectorizer)
        return _GUARDIFY


def features(texts: list[str], embedder: object) -> np.ndarray:
    """MiniLM embedding (384) + prompt-guardrail probability (1) per text."""
    vectors = embedder.encode(texts)  # type: ignore[attr-defined]
    return np.hstack([vectors, guardify_scores(texts)[:, None]]).astype(np.float32)


def sentences(text: str, max_chars: int = 400) -> list[str]:
    """Split a document into the pieces the document head scores (long ones are cut)."""
    parts = [p.strip() for p in _SENTENCE.split(text) if p and p.strip()]
    out: list[str] = []
    for p in parts:
        out.extend(p[i : i + max_chars] for i in range(0, len(p), max_chars))
    return out or [text[:max_chars]]


@dataclass
class HeadWeights:
    coef: np.ndarray  # (n_features,)
    intercept: float
    threshold: float  # the score at which the policy's default action applies

    def score(self, x: np.ndarray) -> np.ndarray:
        return 1.0 / (1.0 + np.exp(-(x @ self.coef + self.intercept)))


@dataclass
class Scored:
    """A text's attack score and the reading of it that scored highest."""

    score: float
    variant: Variant
    piece: str


class AttackClassifier:
    """Scores user prompts and documents. Load once; thread-safe."""

    def __init__(self, embedder: object, path: Path = WEIGHTS) -> None:
        if not path.is_file():
            raise ModelUnavailable(
                f"the guard head weights are missing ({path})",
                hint="train them: podium train guard --data ../shared/data",
            )
        data = np.load(path)
        self.meta = json.loads(str(data["meta"]))
        self.heads = {
            h: HeadWeights(
                data[f"{h}_coef"],
                float(np.ravel(data[f"{h}_intercept"])[0]),
                self.meta[h]["threshold"],
            )
            for h in ("prompt", "document")
        }
        self.embedder = embedder
        self.version = self.meta.get("version", "")

    def score_prompt(self, text: str) -> Scored:
        """The worst score over the prompt's readings (normalised, decoded payloads)."""
        return self.score_prompts([text])[0]

    def score_prompts(self, texts: list[str]) -> list[Scored]:
        """:meth:`score_prompt` for many texts in one encoder batch."""
        readings = [(i, v) for i, t in enumerate(texts) for v in variants(t)]
        if not readings:
            return []
        scores = self.heads["prompt"].score(features([v.text for _, v in readings], self.embedder))
        out: list[Scored | None] = [None] * len(texts)
        for (i, v), score in zip(readings, scores, strict=True):
            current = out[i]
            if current is None or score > current.score:
                out[i] = Scored(float(score), v, v.text)
        return [o for o in out if o is not None]

    def score_documents(self, texts: list[str]) -> list[Scored]:
        """Per document, the worst sentence of any reading (one batch for all documents)."""
        pieces: list[tuple[int, Variant, str]] = []
        for i, text in enumerate(texts):
            for v in variants(text):
                pieces.extend((i, v, s) for s in sentences(v.text))
        if not pieces:
            return []
        scores = self.heads["document"].score(features([p[2] for p in pieces], self.embedder))
        out: list[Scored | None] = [None] * len(texts)
        for (i, v, s), score in zip(pieces, scores, strict=True):
            current = out[i]
            if current is None or score > current.score:
                out[i] = Scored(float(score), v, s)
        return [o if o is not None else Scored(0.0, Variant("", "empty"), "") for o in out]
