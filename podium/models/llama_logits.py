"""Reading a local model's next-token preferences instead of generating text.

The reranker (is this passage relevant: "yes" or "no"?) and the fact-check judge (supports,
refutes, not enough info?) both score a prompt by the logits of the token that would come
next, which costs one forward pass and no decoding. Both ask many prompts that share a long
prefix (the instructions and the query or claim), so only the tokens after the prefix the
context already holds are evaluated (llama.cpp keeps the previous prompt's KV state).
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np


def loaded_llama(model: Any) -> Any:
    """The loaded llama.cpp model behind a chat model, or None when it is not one (a hosted
    model, a scripted one in tests): the caller then asks it and reads its answer."""
    from .local_llama import ChatLlamaCpp

    bound = getattr(model, "bound", None)  # a RunnableBinding from .bind() / with_config
    target = bound if isinstance(bound, ChatLlamaCpp) else model
    return target.loaded if isinstance(target, ChatLlamaCpp) else None


def chatml(messages: list[dict[str, str]]) -> str:
    """Qwen's chat template, ending where the assistant's answer starts."""
    body = "".join(f"<|im_start|>{m['role']}\n{m['content']}<|im_end|>\n" for m in messages)
    return body + "<|im_start|>assistant\n"


def next_token_logits(loaded: Any, prompt: str) -> tuple[np.ndarray, int]:
    """The logits of the token after ``prompt`` (a copy), and how many prompt tokens had to be
    evaluated: the longest prefix already in the context is kept, the rest is evaluated."""
    llama = loaded.llama
    tokens = llama.tokenize(prompt.encode("utf-8"), add_bos=False, special=True)
    with loaded.lock:
        cached = llama.input_ids[: llama.n_tokens].tolist()
        keep = 0
        for a, b in zip(cached, tokens, strict=False):
            if a != b:
                break
            keep += 1
        keep = min(keep, len(tokens) - 1)  # at least one token, for its logits
        llama.n_tokens = keep
        llama.eval(tokens[keep:])
        logits = np.ctypeslib.as_array(llama._ctx.get_logits(), shape=(llama.n_vocab(),))
        return np.array(logits, copy=True), len(tokens) - keep


def logsumexp(values: np.ndarray) -> float:
    top = float(np.max(values))
    return top + math.log(float(np.sum(np.exp(values - top))))
