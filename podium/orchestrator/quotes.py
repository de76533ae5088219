"""Answers quoted from a passage: a one-step plan that found a passage answers in its words.

A model paraphrasing a passage can bend what it says. On the demo, the 1.5B model read "Standard
delivery within the EU ... costs 4.95 EUR; it is free for orders over 75 EUR." and wrote
"Standard delivery within the EU costs 4.95 EUR for orders over 75 EUR": every number is in the
passage, so no number check catches it, and the customer is told the opposite of the policy.
When every step of the plan returned passages, the answer is the sentences of each step's top
passage that best match its question, quoted, with where they come from: nothing to misread,
and no model call (several seconds on 2 cores). Plans that also hold other steps (a count, a
verdict) still go to the model, which has to join the parts; it reads each passage step's
quote instead of the whole passage (:func:`passage_quotes`).
"""

from __future__ import annotations

import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass

from .plan import Plan
from .state import StepOutcome

# Sentence ends: ". " before a capital, digit or opening quote (a decimal point has no space
# after it, so "4.95 EUR" stays whole).
_SENTENCE_END = re.compile(r"(?<=[.!?])\s+(?=[A-Z0-9“\"'(])")
# A line that starts a block of its own (a list item, a table row, a heading); any other line
# break is a wrapped line of the same paragraph.
_BLOCK_START = re.compile(r"\n\s*(?=[-*•#|]|\d+[.)]\s)|\n\s*\n")
# The best-matching sentence is quoted, and the second best too when it is nearly as good, or
# when the best matches only loosely: a broad question ("What does the warranty cover?") is
# answered by more than one sentence of its passage, and a close call quotes both candidates
# rather than risk the wrong one. Cosine similarities of MiniLM-L6-v2, read off the demo's
# questions: a sentence that answers a pointed question scores 0.6-0.9 and leads the next by
# 0.13 or more; the wrong sentence won by 0.08 once ("What is the cost of express delivery
# within the EU?" preferred the standard-delivery sentence, which names the EU).
SECOND_MARGIN = 0.1
LOOSE_MATCH = 0.6

Similarity = Callable[[str, list[str]], Sequence[float]]


def sentences(text: str) -> list[str]:
    """The passage's sentences, markdown list and heading marks removed."""
    blocks = (
        " ".join(b.split()) for b in _BLOCK_START.split(text) if not b.lstrip().startswith("#")
    )
    parts = (p.lstrip("#-*•| ").strip() for b in blocks for p in _SENTENCE_END.split(b))
    return [p for p in parts if len(p.split()) >= 3]


@dataclass(frozen=True)
class Quote:
    """The sentences of a step's passage that best answer its question, and where they are."""

    text: str
    where: str

    def cited(self) -> str:
        return f"{self.text} (from {self.where})"


def quoted_answer(
    plan: Plan, results: dict[str, StepOutcome], min_confidence: float, similarity: Similarity
) -> str | None:
    """The answer quoted from each step's top passage, in plan order, or None when the model
    should write it (a step that found no passage, or one below the confidence floor). A plan
    of several passage steps is quoted too: asked "Do you ship to Switzerland, and how long
    does express delivery take?", the 1.5B joined its two quotes into "Express delivery takes
    12.95 EUR ... and 5 to 8 business days for the United States and Canada" (it arrives the
    next business day; the days are the overseas delivery's)."""
    quotes: list[str] = []
    for step in plan.steps:
        outcome = results.get(step.id)
        if outcome is None or outcome["status"] != "ok" or outcome["confidence"] < min_confidence:
            return None
        found = quote(outcome, similarity)
        if found is None:
            return None
        if found.cited() not in quotes:  # two requests answered by the same sentences
            quotes.append(found.cited())
    return " ".join(quotes) or None


def passage_quotes(results: dict[str, StepOutcome], similarity: Similarity) -> dict[str, Quote]:
    """Each successful step's quote, for the steps that found a passage. A plan of several
    steps is written by the model, which is given these sentences instead of whole passages:
    given the warranty page, the 1.5B model answered "What is the warranty on Summit tents?"
    with the page's first sentence (two years for every product) instead of the one about
    Summit tents (five years), which is the sentence that matches the question best."""
    out = {}
    for sid, outcome in results.items():
        if outcome["status"] == "ok" and (found := quote(outcome, similarity)) is not None:
            out[sid] = found
    return out


def quote(outcome: StepOutcome, similarity: Similarity) -> Quote | None:
    """The sentences of the step's top document that best match its question (None when the
    step found no passage)."""
    passage = _top_passage(outcome["output"])
    if passage is None:
        return None
    # The top document's best passage and its next best ones: the sentence that answers a
    # broad question may sit in another section of the same document (the demo's "What is
    # your return policy?" ranked the "cannot be returned" section first).
    sections = [passage, *_more(passage)]
    candidates = [(s, n) for n, p in enumerate(sections) for s in sentences(str(p["text"]))]
    if not candidates:
        return None
    scores = list(similarity(outcome["input"], [s for s, _ in candidates]))
    ranked = sorted(range(len(candidates)), key=lambda i: -scores[i])  # stable: ties keep order
    best = scores[ranked[0]]
    section = candidates[ranked[0]][1]
    chosen = ranked[:1]
    # a second sentence comes from the best one's own section, so the quote stays one context
    # (a damaged item's replacement, not the refund rules of unused items)
    runner_up = next((i for i in ranked[1:] if candidates[i][1] == section), None)
    if runner_up is not None and (best < LOOSE_MATCH or scores[runner_up] >= best - SECOND_MARGIN):
        chosen.append(runner_up)
    text = " ".join(_ended(candidates[i][0]) for i in sorted(chosen))
    return Quote(text, _where(passage, sections[section]))


def _top_passage(output: object) -> dict[str, object] | None:
    """The first passage of a retrieval-shaped result: a list of ``{"text", "source"}``."""
    if not isinstance(output, list) or not output:
        return None
    top = output[0]
    if not isinstance(top, dict) or not isinstance(top.get("text"), str) or not top["text"]:
        return None
    return top


def _ended(sentence: str) -> str:
    return sentence if sentence[-1] in ".!?:" else sentence + "."


def _more(passage: dict[str, object]) -> list[dict[str, object]]:
    """The document's next best passages the retrieval expert listed with its best one."""
    more = passage.get("more")
    if not isinstance(more, list):
        return []
    return [m for m in more if isinstance(m, dict) and isinstance(m.get("text"), str)]


def _where(passage: dict[str, object], section: dict[str, object]) -> str:
    """The file and the section the best quoted sentence comes from."""
    source = str(passage.get("source") or "the documents").replace("\\", "/").rsplit("/", 1)[-1]
    title = str(section.get("title") or "")
    return f"{source}, {title}" if title else source
