"""The planner cascade's tie-breaker: the small model picks between the router's top experts.

A clause close to two experts ("What was the total value of cancelled orders?": nl2sql 0.57,
retrieval 0.33) makes the cascade ask the 1.5B planner for the whole task, ~30 s here. The
0.5B drafting model is already loaded for NL2SQL; shown the experts' cards and their own
examples as a few-shot routing prompt, it is asked which of the router's top experts owns the
clause. Nothing is generated: each option's name is scored by its log-probability as the
answer (one short evaluation per name token), and the probabilities are normalised over the
options. The cascade accepts only an answer that agrees with the router's own best expert at a
confidence it was fitted on (see :mod:`.planner_cascade`); otherwise the planner model plans.

The prompt is the same for every clause of a workspace, so its evaluated prefix is kept; the
tie-breaker has a small context of its own on the same (memory-mapped) weights, so NL2SQL's
long schema prompts in the drafting model's context do not evict it.
"""

from __future__ import annotations

import math
import time
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Protocol

import numpy as np

from podium.experts.registry import ExpertRegistry
from podium.models.catalog import QWEN_05B, card_for_uri
from podium.models.llama_logits import chatml, next_token_logits

SYSTEM = (
    "You route each request to the one expert that should handle it. "
    "Reply with the expert's name only.\nExperts:\n{cards}"
)
EXAMPLES_PER_EXPERT = 3
CONTEXT_TOKENS = 2048  # the tie-breaker's own context: its prompt is ~600 tokens


@dataclass(frozen=True)
class TieBreak:
    """The small model's choice for one clause among ``options`` (the router's best first)."""

    clause: str
    options: tuple[str, ...]
    choice: str
    confidence: float  # the choice's probability, normalised over the options
    ms: float = 0.0
    new_tokens: int = 0  # prompt tokens evaluated (the rest came from the kept prefix)
    model: str = ""

    def describe(self) -> str:
        return (
            f"the small model chose {self.choice} among {', '.join(self.options)} "
            f"for {self.clause!r} (p {self.confidence:.2f})"
        )


class TieBreaker(Protocol):
    """What the cascade needs of a tie-breaker (:class:`ModelTieBreaker` has it)."""

    def __call__(self, clause: str, options: Sequence[str]) -> TieBreak: ...


def routing_messages(registry: ExpertRegistry, clause: str) -> list[dict[str, str]]:
    """The experts' cards, their own examples as routed turns (round robin), then the clause."""
    cards = "\n".join(f"- {e.name}: {e.description}" for e in registry)
    messages = [{"role": "system", "content": SYSTEM.format(cards=cards)}]
    for i in range(EXAMPLES_PER_EXPERT):
        for exp in registry:
            if i < len(exp.examples):
                messages.append({"role": "user", "content": exp.examples[i]})
                messages.append({"role": "assistant", "content": exp.name})
    messages.append({"role": "user", "content": clause})
    return messages


class ModelTieBreaker:
    """Scores the options' names as the answer of a local llama.cpp chat model (loaded on the
    first call, in a context of its own)."""

    def __init__(self, path: Path, registry: ExpertRegistry, model: str) -> None:
        self.path = path
        self.registry = registry
        self.model = model

    def __call__(self, clause: str, options: Sequence[str]) -> TieBreak:
        from podium.models.local_llama import load_gguf

        start = time.perf_counter()
        loaded = load_gguf(str(self.path), CONTEXT_TOKENS)
        prompt = chatml(routing_messages(self.registry, clause))
        scores, evaluated = [], 0
        for name in options:
            logprob, n = _label_logprob(loaded, prompt, name)
            scores.append(logprob)
            evaluated += n
        values = np.asarray(scores)
        probs = np.exp(values - values.max())
        probs /= probs.sum()
        best = int(np.argmax(probs))
        return TieBreak(
            clause,
            tuple(options),
            options[best],
            float(probs[best]),
            ms=1000 * (time.perf_counter() - start),
            new_tokens=evaluated,
            model=self.model,
        )


def _label_logprob(loaded: Any, prompt: str, label: str) -> tuple[float, int]:
    """log P(label | prompt), one token at a time (each step evaluates one new token)."""
    llama = loaded.llama
    ids = llama.tokenize(label.encode("utf-8"), add_bos=False, special=False)
    total, evaluated = 0.0, 0
    for i, token in enumerate(ids):
        logits, n = next_token_logits(loaded, prompt + llama.detokenize(ids[:i]).decode("utf-8"))
        top = float(logits.max())
        total += float(logits[token]) - top - math.log(float(np.exp(logits - top).sum()))
        evaluated += n
    return total, evaluated


# The confidence threshold in CascadeSettings was fitted with this model's answers; another
# small model would need its own fit (benchmarks/planning.py --cascade), so it is not used.
FITTED_FOR = frozenset({QWEN_05B.uri})


def small_model_tiebreaker(roles: dict[str, Any], registry: ExpertRegistry) -> TieBreaker | None:
    """The tie-breaker on the workspace's ``small`` model when it is the local model the
    threshold was fitted for and is installed; otherwise None (the cascade escalates as
    before). Nothing is loaded here."""
    from podium.models.files import is_installed, model_path

    uri = roles.get("small")
    if not isinstance(uri, str) or uri not in FITTED_FOR:
        return None
    entry = card_for_uri(uri)
    if entry is None or not is_installed(entry):
        return None
    return ModelTieBreaker(model_path(entry), registry, uri)
