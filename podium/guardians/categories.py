"""Harm categories for requests and answers, after the MLCommons hazard taxonomy that Llama
Guard 3 uses (S1-S13 abridged). A text is placed in the category whose description is
nearest on the embedded encoder; the attack classifier decides *whether* it is harmful,
this only names *what kind*.
"""

from __future__ import annotations

import threading

import numpy as np

CATEGORIES: dict[str, str] = {
    "violent_crimes": "murder, assault, terrorism, bombs, killing or hurting people or animals",
    "weapons": "making or acquiring guns, explosives, chemical or biological weapons",
    "cybercrime": "hacking, malware, viruses, exploits, breaking into computers or accounts",
    "fraud_theft": "fraud, scams, theft, identity theft, counterfeiting, money laundering",
    "drugs": "making, buying or selling illegal drugs",
    "self_harm": "suicide, self-harm, eating disorders",
    "hate_harassment": "hate speech, discrimination, bullying, harassment, threats",
    "sexual_content": "sexual content, sexual exploitation, content sexualising minors",
    "misinformation": "fake news, propaganda, defamation, false claims about people",
    "privacy": "stalking, doxxing, spying on people, collecting personal data without consent",
}


class CategoryIndex:
    """Nearest harm category by cosine similarity on the shared encoder."""

    def __init__(self, embedder: object) -> None:
        self.names = list(CATEGORIES)
        self.vectors = embedder.encode(list(CATEGORIES.values()))  # type: ignore[attr-defined]
        self._lock = threading.Lock()

    def nearest(self, vector: np.ndarray) -> tuple[str, float]:
        sims = self.vectors @ vector[: self.vectors.shape[1]]
        best = int(np.argmax(sims))
        return self.names[best], float(sims[best])
