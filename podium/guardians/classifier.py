"""The attack classifier: ``prompt-guardrail`` as the first layer, a head trained by Podium on
the embedded MiniLM encoder as the second.

Two heads share one feature vector (the MiniLM embedding of the normalised text plus
prompt-guardrail's injection probability):

- ``prompt``: is a user's request an attack (a jailbreak or a plainly harmful request)?
- ``document``: does a passage of third-party data carry an instruction aimed at the model
  (indirect injection)? Documents are scored sentence by sentence, the worst one counts,
  because an instruction hidden in the middle of a long email is diluted in a whole-text
  embedding. Each sentence also gets a few cheap cues that carry over to new documents and
  new attack wordings (:func:`cues`): is it addressed to the reader ("you", "your
  response", "assistant"), does it open with an imperative verb, is it a question, how long
  is it, and how far is it from the rest of its document (an instruction pasted into an
  email is about something else than the email).

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


_ADDRESSED = (
    re.compile(r"\byou\b|\byour\b|\byou'", re.I),
    re.compile(r"\b(answer|response|reply|respond|output)\b", re.I),
    re.compile(r"\b(ai|assistant|chatbot|language model)\b", re.I),
)
# Common English imperative openers (a generic list, not the training attacks' verbs).
_IMPERATIVE = frozenset(
    """act add analyse analyze answer append ask avoid begin break build calculate change
    check choose classify click compare compile compose convert copy count create define delete
    describe design develop do download draft draw encode end enter explain express fill find
    finish fix forget format generate give go help identify ignore imagine include indicate
    insert introduce keep let list look make mention name note offer open outline output
    paraphrase pick place pretend print promote provide put rank read recommend reformat
    remember remove rename repeat replace reply report respond restate rewrite run say schedule
    search send set share show sign solve sort spell start state stop suggest summarise
    summarize swap tell think transform translate try turn type update use visit write""".split()
)
_WORD = re.compile(r"[A-Za-z']+")
N_CUES = 7  # columns :func:`cues` adds to the document head's features


def cues(pieces: list[str], vectors: np.ndarray) -> np.ndarray:
    """Per sentence of ONE document: addressed to the reader (3), a question, an imperative
    opener, log length, and the cosine with the mean of the document's other sentences
    (0 for a one-sentence document). ``vectors``: the sentences' MiniLM embeddings."""
    rows = []
    for p in pieces:
        words = _WORD.findall(p.lower())
        if words[:1] == ["please"]:
            words = words[1:]
        rows.append(
            [
                *(1.0 if rx.search(p) else 0.0 for rx in _ADDRESSED),
                1.0 if p.rstrip().endswith("?") else 0.0,
                1.0 if words and words[0] in _IMPERATIVE else 0.0,
                float(np.log1p(len(p.split())) / 3),
            ]
        )
    out = np.zeros((len(pieces), N_CUES), dtype=np.float32)
    out[:, :6] = np.asarray(rows, dtype=np.float32).reshape(len(pieces), 6)
    if len(pieces) > 1:
        unit = vectors / (np.linalg.norm(vectors, axis=1, keepdims=True) + 1e-9)
        others = (unit.sum(0)[None, :] - unit) / (len(pieces) - 1)
        out[:, 6] = (unit * others).sum(1) / (np.linalg.norm(others, axis=1) + 1e-9)
    return out


def document_features(documents: list[list[str]], base: np.ndarray) -> np.ndarray:
    """The document head's features: each sentence's :func:`features` row (``base``, rows in
    the order of the flattened ``documents``) with its :func:`cues` within its document."""
    extra, start = [], 0
    for pieces in documents:
        rows = base[start : start + len(pieces)]
        extra.append(cues(pieces, rows[:, :-1]))
        start += len(pieces)
    return np.hstack([base, np.vstack(extra)]) if extra else base


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
        readings: list[list[str]] = []
        for i, text in enumerate(texts):
            for v in variants(text):
                reading = sentences(v.text)
                readings.append(reading)
                pieces.extend((i, v, s) for s in reading)
        if not pieces:
            return []
        head = self.heads["document"]
        x = features([p[2] for p in pieces], self.embedder)
        if head.coef.shape[0] > x.shape[1]:  # weights from before the cues: base features only
            x = document_features(readings, x)
        scores = head.score(x)
        out: list[Scored | None] = [None] * len(texts)
        for (i, v, s), score in zip(pieces, scores, strict=True):
            current = out[i]
            if current is None or score > current.score:
                out[i] = Scored(float(score), v, s)
        return [o if o is not None else Scored(0.0, Variant("", "empty"), "") for o in out]
