"""Verifiers: (claim, evidence) pairs in, calibrated probabilities of the three labels out.

Backends behind one small protocol:

- :class:`TrainedVerifier` (the default, ``"builtin"``): a classifier over :mod:`.features`
  of the embedded MiniLM encoder, trained by ``podium train fact_check --model head`` and
  shipped as ``verifier.npz`` in this package (plain arrays, no pickle, so it loads with any
  scikit-learn or none).
- :class:`~.cross.CrossVerifier` (``"cross"``): MiniLM reading claim and evidence together,
  its top layers fine-tuned (see :mod:`.cross`); opt-in until it beats the head.
- :class:`CrossEncoderVerifier`: any sentence-transformers NLI cross-encoder on disk (e.g. a
  DeBERTa MNLI model you downloaded), for a stronger check where one is available.

``load_verifier(spec)`` turns ``"builtin"``, ``"cross"``, a weights file or a cross-encoder folder
into one.
"""

from __future__ import annotations

import hashlib
import threading
from collections.abc import Sequence
from dataclasses import dataclass
from importlib.resources import files
from pathlib import Path
from typing import ClassVar, Protocol, runtime_checkable

import numpy as np

from podium.errors import ConfigError, ModelUnavailable

from .features import FEATURE_VERSION, pair_features
from .labels import LABELS, NEI, REFUTES, SUPPORTS, softmax

WEIGHTS_FILE = "verifier.npz"


def builtin_weights() -> Path:
    return Path(str(files("podium.experts.fact_check") / WEIGHTS_FILE))


def claim_key(claim: str) -> str:
    """A short stable id of a claim text (the weights list the claims they were trained on)."""
    return hashlib.sha1(" ".join(claim.lower().split()).encode()).hexdigest()[:16]


@runtime_checkable
class Verifier(Protocol):
    """Scores pairs. ``predict`` returns an (n, 3) array over :data:`LABELS`, rows sum to 1."""

    name: str

    def predict(self, claims: Sequence[str], evidences: Sequence[str]) -> np.ndarray: ...

    def decide(self, probs: np.ndarray) -> np.ndarray: ...


def encode_pairs(
    claims: Sequence[str],
    evidences: Sequence[str],
    encoder: str,
    known: dict[str, np.ndarray] | None = None,
) -> np.ndarray:
    """The feature matrix of the pairs; each distinct text is encoded once (texts in
    ``known`` are not encoded again)."""
    from podium.models.embeddings import load_embedder

    known = dict(known or {})
    missing = [t for t in dict.fromkeys([*claims, *evidences]) if t not in known]
    if missing:
        known.update(zip(missing, load_embedder(encoder).encode(missing), strict=True))
    u = np.stack([known[c] for c in claims])
    v = np.stack([known[e] for e in evidences])
    return pair_features(claims, evidences, u, v)


@dataclass
class HeadWeights:
    """The classifier head and its calibration, as stored in ``verifier.npz``."""

    mean: np.ndarray
    scale: np.ndarray
    layers: list[tuple[np.ndarray, np.ndarray]]  # (W, b); ReLU between, linear last
    temperature: float
    bias: np.ndarray  # added to logits / temperature (class-prior correction)
    decision: np.ndarray  # multiplies the probabilities before argmax (balanced decisions)
    encoder: str
    trained_claims: frozenset[str]
    meta: dict[str, str]

    def logits(self, x: np.ndarray) -> np.ndarray:
        h = (x - self.mean) / self.scale
        for i, (w, b) in enumerate(self.layers):
            h = h @ w + b
            if i < len(self.layers) - 1:
                h = np.maximum(h, 0.0)
        return h

    def probs(self, x: np.ndarray) -> np.ndarray:
        return softmax(self.logits(x) / self.temperature + self.bias)

    def save(self, path: Path) -> None:
        arrays: dict[str, np.ndarray] = {
            "mean": self.mean.astype(np.float32),
            "scale": self.scale.astype(np.float32),
            "temperature": np.array(self.temperature, dtype=np.float32),
            "bias": self.bias.astype(np.float32),
            "decision": self.decision.astype(np.float32),
            "encoder": np.array(self.encoder),
            "feature_version": np.array(FEATURE_VERSION),
            "labels": np.array(LABELS),
            "trained_claims": np.array(sorted(self.trained_claims)),
            "meta_keys": np.array(list(self.meta)),
            "meta_values": np.array([self.meta[k] for k in self.meta]),
        }
        for i, (w, b) in enumerate(self.layers):
            arrays[f"W{i}"] = w.astype(np.float32)
            arrays[f"b{i}"] = b.astype(np.float32)
        path.parent.mkdir(parents=True, exist_ok=True)
        with path.open("wb") as fh:
            np.savez_compressed(fh, allow_pickle=False, **arrays)

    @classmethod
    def load(cls, path: Path) -> HeadWeights:
        try:
            data = np.load(path, allow_pickle=False)
        except (OSError, ValueError) as exc:
            raise ModelUnavailable(
                f"cannot read verifier weights {path}: {exc}",
                hint="retrain them: podium train fact_check --data ../shared/data/fact_check",
            ) from exc
        version = int(data["feature_version"])
        if version != FEATURE_VERSION or tuple(data["labels"]) != LABELS:
            raise ModelUnavailable(
                f"verifier weights {path} were trained for feature version {version}, this "
                f"Podium computes version {FEATURE_VERSION}",
                hint="retrain them: podium train fact_check --data ../shared/data/fact_check",
            )
        layers: list[tuple[np.ndarray, np.ndarray]] = []
        while f"W{len(layers)}" in data:
            i = len(layers)
            layers.append((data[f"W{i}"], data[f"b{i}"]))
        return cls(
            mean=data["mean"],
            scale=data["scale"],
            layers=layers,
            temperature=float(data["temperature"]),
            bias=data["bias"],
            decision=data["decision"],
            encoder=str(data["encoder"]),
            trained_claims=frozenset(str(k) for k in data["trained_claims"]),
            meta=dict(zip(map(str, data["meta_keys"]), map(str, data["meta_values"]), strict=True)),
        )


class TrainedVerifier:
    """The shipped verifier: MiniLM pair features → a small calibrated classifier."""

    def __init__(self, weights: str | Path | HeadWeights | None = None) -> None:
        if isinstance(weights, HeadWeights):
            self.head = weights
            self.path: Path | None = None
        else:
            self.path = Path(weights) if weights else builtin_weights()
            if not self.path.is_file():
                raise ModelUnavailable(
                    f"no verifier weights at {self.path}",
                    hint="train them: podium train fact_check --data ../shared/data/fact_check",
                )
            self.head = HeadWeights.load(self.path)
        self.trained_claims = self.head.trained_claims
        self.name = f"fact_check:{self.head.meta.get('model', 'head')}+{self.head.encoder}"

    def predict(
        self,
        claims: Sequence[str],
        evidences: Sequence[str],
        known: dict[str, np.ndarray] | None = None,
    ) -> np.ndarray:
        """``known``: embeddings already computed for some of the texts (by the caller)."""
        if not claims:
            return np.zeros((0, 3), dtype=np.float32)
        return self.head.probs(encode_pairs(claims, evidences, self.head.encoder, known))

    def decide(self, probs: np.ndarray) -> np.ndarray:
        return np.argmax(probs * self.head.decision, axis=1)


class CrossEncoderVerifier:
    """An NLI cross-encoder from a local folder (sentence-transformers ``CrossEncoder``).

    Its labels are read from the model config (entailment / contradiction / neutral); the
    probabilities are its softmax, as calibrated as the model is.
    """

    _MAP: ClassVar[dict[str, int]] = {
        "entailment": SUPPORTS,
        "contradiction": REFUTES,
        "neutral": NEI,
    }

    def __init__(self, path: str | Path) -> None:
        from sentence_transformers import CrossEncoder

        self.path = Path(path)
        try:
            self.model = CrossEncoder(str(self.path), device="cpu")
        except (OSError, ValueError) as exc:
            raise ModelUnavailable(
                f"cannot load the NLI cross-encoder at {self.path}: {exc}",
                hint="give a local folder with a sentence-transformers / transformers NLI model",
            ) from exc
        id2label = self.model.model.config.id2label
        order: list[int] = []
        for i in range(len(id2label)):
            name = str(id2label[i]).lower()
            match = next((v for k, v in self._MAP.items() if name.startswith(k[:7])), None)
            if match is None:
                raise ConfigError(
                    f"the cross-encoder at {self.path} has label {id2label[i]!r}",
                    hint="use a 3-way NLI model (entailment / neutral / contradiction)",
                )
            order.append(match)
        if sorted(order) != [0, 1, 2]:
            raise ConfigError(f"the cross-encoder at {self.path} is not a 3-way NLI model")
        self.order = order
        self.name = f"cross-encoder:{self.path.name}"
        self._lock = threading.Lock()

    def predict(self, claims: Sequence[str], evidences: Sequence[str]) -> np.ndarray:
        if not claims:
            return np.zeros((0, 3), dtype=np.float32)
        with self._lock:
            logits = self.model.predict(
                list(zip(evidences, claims, strict=True)), convert_to_numpy=True
            )
        probs = softmax(np.asarray(logits, dtype=np.float32))
        out = np.zeros_like(probs)
        out[:, self.order] = probs
        return out

    def decide(self, probs: np.ndarray) -> np.ndarray:
        return np.argmax(probs, axis=1)


_CACHE: dict[str, Verifier] = {}
_CACHE_LOCK = threading.Lock()


def load_verifier(spec: str | Path | None = None) -> Verifier:
    """``None``/``"builtin"``: the shipped head on frozen MiniLM features; ``"cross"``: the
    shipped MiniLM cross-encoder (:mod:`.cross`; opt-in until it measures better, see
    BENCHMARKS.md); a ``.safetensors`` or ``.npz`` from ``podium train fact_check``; a folder:
    an NLI cross-encoder. Loaded once per process."""
    key = str(spec or "builtin")
    with _CACHE_LOCK:
        if key not in _CACHE:
            if key == "cross" or key.endswith(".safetensors"):
                from .cross import CrossVerifier

                _CACHE[key] = CrossVerifier(None if key == "cross" else key)
            elif key in ("builtin", "head"):
                _CACHE[key] = TrainedVerifier()
            elif key.endswith(".npz"):
                _CACHE[key] = TrainedVerifier(key)
            elif Path(key).is_dir():
                _CACHE[key] = CrossEncoderVerifier(key)
            else:
                raise ConfigError(
                    f"unknown fact-check verifier {key!r}",
                    hint="use 'builtin', 'cross', a .safetensors or .npz from podium train "
                    "fact_check, or the folder of an NLI cross-encoder",
                )
        return _CACHE[key]
