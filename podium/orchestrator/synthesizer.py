"""The ``synthesize`` node: the model writes the answer with every step's output and
confidence in its context (SLM-guided generation), and Podium checks it is grounded.

A check runs on the written answer before it is accepted: every number in it must appear in
the task or in a step's result, and the text must not be degenerate (a tiny model repeating
itself). A rejected answer is rebuilt step by step: one sentence per step, each checked the
same way, falling back to the step's own summary. The answer says which way it was made.
"""

from __future__ import annotations

import asyncio
import dataclasses
import re
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass
from functools import cached_property
from typing import Any

from langchain_core.messages import HumanMessage, SystemMessage
from langgraph.runtime import Runtime

from podium.experts.base import Cost, ExpertResult
from podium.memory.stemming import stems
from podium.models.provider import as_model_unavailable
from podium.models.usage import metered

from .context import PodiumContext
from .counted import counted_nouns, fractional_count
from .direct_answer import direct_answer
from .events import AnswerReady, AnswerToken, emit
from .fallback import superseded
from .plan import Plan, Step, state_plan
from .quotes import Quote, passage_quotes, quoted_answer
from .readable import rows_in_words
from .row_pairs import RowFacts, mispaired, row_facts
from .state import RunState, StepOutcome, ledger_entry, result_from_outcome

SYSTEM = (
    "You write the final answer to the user's task from the experts' results below, in plain "
    "sentences a person reads: state each number or fact directly (for example '543 orders "
    "were placed in 2024.'), quote numbers exactly, keep it short, and do not list raw rows, "
    "SQL, step ids or confidences. Use only those results. If a step failed or its confidence "
    "is low, say plainly what is not known instead of guessing."
)
STEP_SYSTEM = "You answer a question in one or two sentences using only the given result."
_ECHO = re.compile(r"^\s*(Task|Results|Question|Result):|\[s\d+\]", re.M)
_NUMBER = re.compile(r"(?<![\w.])-?\d[\d,]*(?:\.\d+)?")
_WORD = re.compile(r"[^\W\d_]+")
# Thousands separated in threes. The 1.5B wrote 112219.83 as "1,122,19.83", which reads as
# another number though its digits match.
_GROUPED = re.compile(r"-?\d{1,3}(?:,\d{3})+(?:\.\d+)?")
_CAPITALISED = re.compile(r"(?<![\w'’-])[A-Z][^\W\d_]*(?:[-'’][^\W\d_]+)*")


def results_block(
    plan: Plan,
    results: dict[str, StepOutcome],
    read: dict[str, ExpertResult] | None = None,
    quotes: dict[str, Quote] | None = None,
) -> str:
    """The results as the synthesizer's prompt lists them; ``read``: the successful steps'
    outcomes already read back into results (each is read once per answer, not per use);
    ``quotes``: the sentences that answer a passage step, listed instead of its passages."""
    lines = []
    for step in plan.steps:
        outcome = results.get(step.id)
        if outcome is None:
            continue
        if outcome["status"] != "ok":
            lines.append(
                f"[{step.id}] {step.expert} on {step.input!r}: FAILED ({outcome['error']})"
            )
            continue
        if quotes is not None and step.id in quotes:
            text = quotes[step.id].cited()
        else:
            result = read[step.id] if read is not None else result_from_outcome(outcome)
            text = result.text(1200)
        lines.append(
            f"[{step.id}] {step.expert} on {outcome['input']!r} "
            f"(confidence {outcome['confidence']:.2f}): {text}"
        )
    return "\n".join(lines)


@dataclass(frozen=True)
class UnsupportedClaim:
    """A claim a fact-check step found refuted or could not confirm, and its content words."""

    claim: str
    words: frozenset[str]

    @classmethod
    def of(cls, claim: str) -> UnsupportedClaim:
        return cls(claim, frozenset(_content_words(claim)))

    def asserted_by(self, sentence: str) -> bool:
        """Whether ``sentence`` says the claim plainly: all of its content words, or "yes"
        and any of them (or "yes" alone), and no word that denies it or leaves it open
        ("not", "whether", "unclear", ...)."""
        if _HEDGE.search(sentence):
            return False
        said = _content_words(sentence)
        if _YES.match(sentence):
            return not (said - self.words) or bool(self.words & said)
        return len(self.words) >= 2 and self.words <= said


# Words that deny a claim or leave it open; a sentence with one of them does not assert it.
_HEDGE = re.compile(
    r"\b(?:not|no|never|neither|nor|cannot|unknown|unclear|uncertain|unsure|whether|if|false|"
    r"untrue|incorrect|wrong|unable|unconfirmed|unsupported|contradict\w*|refute\w*)\b|"
    r"n['’]t\b",
    re.I,
)


# An answer that opens by saying yes asserts what was asked ("Can I pay with PayPal?" ->
# "Yes, you can pay with PayPal.").
_YES = re.compile(r"^\W*(?:yes|yeah|sure|certainly|absolutely|of course|indeed)\b", re.I)


def unsupported_claims(results: dict[str, StepOutcome]) -> tuple[UnsupportedClaim, ...]:
    """The claims fact-check steps found refuted or not enough information for."""
    out = []
    for outcome in results.values():
        output = outcome.get("output")
        claims = output.get("claims") if isinstance(output, dict) else None
        if outcome["status"] != "ok" or not isinstance(claims, list):
            continue
        for c in claims:
            if isinstance(c, dict) and c.get("label") in ("REFUTES", "NOT_ENOUGH_INFO"):
                out.append(UnsupportedClaim.of(str(c.get("claim", ""))))
    return tuple(out)


@dataclass(frozen=True)
class Sources:
    """What an answer may repeat: the texts it is checked against, with their numbers and the
    currencies they name read once per answer rather than once per streamed sentence (a
    64-step plan has 66 source texts and its answer is checked sentence by sentence)."""

    numbers: frozenset[str]
    currencies: frozenset[str]
    words: frozenset[str] = frozenset()  # lower-cased
    # Claims a fact-check step did not find supported: an answer may mention them, but not
    # state them as true.
    unsupported: tuple[UnsupportedClaim, ...] = ()
    # The rows of the steps' tables: a figure may not be given beside another row's name.
    rows: tuple[RowFacts, ...] = ()
    # The plurals of the tables the steps read ("orders"): counted in whole numbers.
    counted: frozenset[str] = frozenset()
    # Names the results block uses for its own bookkeeping (the experts: "[s1] nl2sql on ..."),
    # which no result or the task contains: an answer naming one took it for a value (the
    # 1.5B wrote "156 orders were placed by the segment 'nl2sql'" for the gold segment).
    internal: frozenset[str] = frozenset()

    @classmethod
    def of(cls, texts: Sequence[str] | Sources) -> Sources:
        if isinstance(texts, Sources):
            return texts
        # One scan of all texts: a line break between two texts bounds a number or a word
        # exactly as the end of a text does.
        joined = "\n".join(texts)
        return cls(
            frozenset(_canon(n) for n in _NUMBER.findall(joined)),
            frozenset(_currencies(joined)),
            frozenset(_WORD.findall(joined.lower())),
        )

    def plus(self, text: str) -> Sources:
        extra = Sources.of([text])
        return Sources(
            self.numbers | extra.numbers,
            self.currencies | extra.currencies,
            self.words | extra.words,
            self.unsupported,
            self.rows,
            self.counted,
            self.internal,
        )

    @cached_property
    def stems(self) -> frozenset[str]:
        """The words' stems, read only when a name is not found as written."""
        return frozenset(stems(sorted(self.words)))

    def names(self, word: str) -> bool:
        """Whether a source contains ``word`` (any case; "Tents" for "tent" too)."""
        parts = _WORD.findall(word.lower())
        return all(p in self.words or stems([p])[0] in self.stems for p in parts)


# What a step found, as the answer must carry it: a text (one of its numbers or some of its
# words), or, for a step whose every row answers part of the question, each row's text.
Finding = str | tuple[str, ...]


def grounding_problems(
    answer: str, sources: Sequence[str] | Sources, findings: dict[str, Finding] | None = None
) -> list[str]:
    """Why an answer cannot be trusted as written (empty if it can).

    ``findings`` maps step ids to what each successful step found; the answer must reflect
    every one of them (one of its numbers, or some of its words; every row of a step that
    answers per group).
    """
    problems = text_problems(answer, sources)
    missing = _missing(answer, findings or {})
    if missing:
        problems.append(f"leaves out what step {', '.join(missing)} found")
    return problems


def text_problems(answer: str, sources: Sequence[str] | Sources) -> list[str]:
    """What is wrong with a text as written, whatever it covers: empty, repeating itself,
    echoing the prompt, stating a number, currency or name no result contains, or stating as
    true a claim a fact check did not support."""
    facts = Sources.of(sources)
    problems = []
    words = answer.lower().split()
    if not words:
        problems.append("the answer is empty")
    elif len(words) >= 12:
        top = Counter(zip(words, words[1:], words[2:], strict=False)).most_common(1)[0][1]
        if top >= 3:
            problems.append("the answer repeats itself")
    if _ECHO.search(answer):
        problems.append("the answer repeats the prompt instead of answering")
    invented = [n for n in _NUMBER.findall(answer) if _canon(n) not in facts.numbers]
    if invented:
        problems.append(f"numbers not in any result: {', '.join(invented[:5])}")
    written = [n.rstrip(",") for n in _NUMBER.findall(answer)]  # "at 5, then": no grouping
    misgrouped = [n for n in written if "," in n and not _GROUPED.fullmatch(n)]
    if misgrouped:
        problems.append(f"numbers grouped wrong: {', '.join(misgrouped[:5])}")
    foreign = sorted(_currencies(answer) - facts.currencies)
    if foreign:
        problems.append(f"a currency no result names: {', '.join(foreign)}")
    unnamed = [n for n in _names(answer) if not facts.names(n)]
    if unnamed:
        problems.append(f"names no result contains: {', '.join(dict.fromkeys(unnamed))}")
    if facts.unsupported:
        stated = [
            c.claim
            for sentence in _SENTENCE_END.split(answer)
            for c in facts.unsupported
            if c.asserted_by(sentence)
        ]
        if stated:
            problems.append(f"states what a fact check did not support: {stated[0]!r}")
    moved = mispaired(answer, facts.rows)
    if moved:
        problems.append(f"a figure beside the wrong row: {moved}")
    bookkeeping = [w for w in _TOKEN.findall(answer.lower()) if w in facts.internal]
    if bookkeeping:
        problems.append(f"names an expert, not a result: {bookkeeping[0]}")
    miscounted = fractional_count(answer, facts.counted)
    if miscounted:
        problems.append(f"an amount written as a count: {miscounted!r}")
    return problems


def _names(text: str) -> list[str]:
    """The capitalised words of a text that do not start a sentence (or a line, a quote, a
    list item): the names it gives. "Product A, Product B" where the results list real
    products is how the 1.5B once wrote placeholders for rows it was given."""
    out = []
    for m in _CAPITALISED.finditer(text):
        before = text[: m.start()].rstrip(" \t\"'“‘(*-")
        if not before or before[-1] in ".!?:;\n" or m.group() == "I":
            continue
        if _ANY_CURRENCY.fullmatch(m.group()):  # the currency check's to judge
            continue
        out.append(m.group())
    return out


# A money amount's unit is part of the fact: the 1.5B wrote "$271,895.61" for a shop whose
# results and documents never name a currency but euros.
_CURRENCY = {
    "USD": re.compile(r"\$|\bUSD\b|\bdollars?\b", re.I),
    "EUR": re.compile(r"€|\bEUR\b|\beuros?\b", re.I),
    "GBP": re.compile(r"£|\bGBP\b", re.I),
    "JPY": re.compile(r"¥|\bJPY\b|\byen\b", re.I),
}


_ANY_CURRENCY = re.compile("|".join(f"(?:{p.pattern})" for p in _CURRENCY.values()), re.I)


# What every currency pattern's match contains, casefolded (as ``re.I`` compares): a text
# with none of these names no currency, found without running the patterns (a 64-step plan's
# sources took 2.3 ms to scan with them, 53 us per step).
_CURRENCY_HINTS = ("$", "usd", "dollar", "€", "eur", "£", "gbp", "¥", "jpy", "yen")


def _currencies(text: str) -> set[str]:
    folded = text.casefold()
    if not any(hint in folded for hint in _CURRENCY_HINTS) or not _ANY_CURRENCY.search(text):
        return set()  # most results name none: no pattern runs, or one scan instead of four
    return {code for code, pattern in _CURRENCY.items() if pattern.search(text)}


_SYMBOL = {"USD": "$", "EUR": "€", "GBP": "£", "JPY": "¥"}


def without_unnamed_symbols(text: str, sources: Sequence[str] | Sources) -> str:
    """The text with a currency symbol dropped from a number when no source names that
    currency ("$271,895.61" -> "271,895.61"): the amount stays, the guessed unit goes. Words
    ("dollars") are left for ``text_problems`` to refuse."""
    for code in _currencies(text) - Sources.of(sources).currencies:
        text = re.sub(rf"{re.escape(_SYMBOL[code])}\s?(?=\d)", "", text)
    return text


_STOP = frozenset(
    "that this with from have were what which their there about would could should "
    "into your they them than then when where only also each more most some such".split()
)


# What names a result rather than being found in it: a table summary's column header
# ("[name, total] ...") and a single value's column ("category: Tents", "COUNT(*): 543").
_LABELS = re.compile(r"^\s*\[[^\]]*\]\s*|^\s*[\w ().*,]{1,60}:\s+(?=\S)")


def _content_words(text: str) -> set[str]:
    """The words that say what a text is about, stemmed so that an answer in other word forms
    ("removed" for "remove", "order" for "orders") is read as saying the same."""
    return set(stems([w for w in re.findall(r"[a-z]{4,}", text.lower()) if w not in _STOP]))


# A finding this long is prose (a passage), not a value or a few rows: its numbers need not be
# the point, so its words can carry it too.
_PASSAGE_WORDS = 12


# How sure a step was ("(confidence 0.40)", "(0.81)") is not part of what it found.
_CONFIDENCE_NOTE = re.compile(r"\s*\((?:confidence:?\s*)?[01]\.\d+\)", re.I)


def _reflects(answer_numbers: set[str], answer_words: set[str], fact: str) -> bool:
    """Whether an answer carries a finding: one of its numbers, three of its words, or every
    word of its first row. A value or a few rows are carried only by their numbers when they
    have any; a passage also by its words, since the number in it may not be what was asked."""
    fact = _CONFIDENCE_NOTE.sub("", fact)
    numbers = {_canon(n) for n in _NUMBER.findall(fact)}
    if numbers & answer_numbers:
        return True
    found = _LABELS.sub("", fact)
    fact_words = _content_words(found)
    if numbers and len(numbers) <= 12 and len(fact_words) < _PASSAGE_WORDS:
        return False
    if len(answer_words & fact_words) >= min(3, len(fact_words)):
        return True
    # A ranked result ("which category has the most revenue?" read as every category, best
    # first) is carried by an answer that names its whole first row.
    first_row = _content_words(found.split(";", 1)[0])
    return bool(first_row) and first_row <= answer_words


def _canon(number: str) -> str:
    text = number.replace(",", "")
    if text.isdigit() and len(text) <= 15:  # exact as a float too: the same string, faster
        return str(int(text))
    try:
        value = float(text)
    except ValueError:
        return text
    return str(int(value)) if value.is_integer() else f"{value:g}"


async def synthesize_node(state: RunState, runtime: Runtime[PodiumContext]) -> dict[str, Any]:
    ctx = runtime.context
    run_id, task = state["run_id"], state["task"]
    plan = state_plan(state["plan"])
    results = state.get("results", {})
    gone = superseded(results, state.get("fallbacks", {}), CONFIDENCE_FLOOR)
    if gone:  # a request answered by its second expert is answered (fallback.py)
        results = {sid: o for sid, o in results.items() if sid not in gone}
        plan = plan.model_copy(update={"steps": [s for s in plan.steps if s.id not in gone]})
    stopped = state.get("stopped")
    notes: list[str] = []
    refused = {sid: o for sid, o in results.items() if _refusal(o)}

    def similarity(question: str, sentences: list[str]) -> Sequence[float]:
        # the encoder is asked only when a step found a passage to quote
        return ctx.models.embedder().similarity_to(question, sentences)

    trusted = {
        sid: o
        for sid, o in results.items()
        if o["status"] == "ok" and sid not in refused and o["confidence"] >= CONFIDENCE_FLOOR
    }
    if stopped:
        # A spent budget means no more model calls: the answer is put together from the steps.
        answer, mode, cost = compose(plan, results), "composed without a model", Cost()
        notes.append(f"stopped early: {stopped}")
    elif not trusted:
        # Nothing to write from: say so (no model is asked to dress up a guess).
        answer, mode, cost = _nothing_known(plan, results, refused), "no trusted result", Cost()
    elif (direct := direct_answer(plan, results, LOW_CONFIDENCE)) is not None:
        # One step whose result is the answer (a count): no model call to restate it.
        answer, mode, cost = direct, "the step's result is the answer (no model call)", Cost()
    elif (
        quoted := await asyncio.wait_for(
            asyncio.to_thread(quoted_answer, plan, results, CONFIDENCE_FLOOR, similarity),
            QUOTE_TIMEOUT_S,
        )
    ) is not None:
        # One step that found a passage: its own sentences, which a paraphrase can bend.
        answer, mode, cost = quoted, "quoted from the passage (no model call)", Cost()
    else:
        # Streamed in reading order (refusals, the written answer, what is not known), so the
        # streamed sentences are exactly the answer: nothing shown is replaced.
        lead = " ".join(_refusal(o) for o in refused.values())
        if lead:
            emit(AnswerToken(run_id=run_id, text=lead + " "))
        quotes = await asyncio.wait_for(
            asyncio.to_thread(passage_quotes, trusted, similarity),
            QUOTE_TIMEOUT_S,
        )
        written, mode, cost, notes = await _written(ctx, run_id, task, plan, trusted, quotes)
        doubts = [
            _doubt(o) for sid, o in results.items() if sid not in trusted and sid not in refused
        ]
        if doubts:
            emit(AnswerToken(run_id=run_id, text=" " + " ".join(doubts)))
        answer = " ".join([lead, written, *doubts]).strip()
    failed = [sid for sid, o in results.items() if o["status"] != "ok"]
    if stopped:
        answer = f"(Stopped early: {stopped}.)\n{answer}"
    emit(AnswerReady(run_id=run_id, text=answer, cost=cost.model_dump()))
    return {
        "answer": answer,
        "status": "partial" if (failed or stopped) else "done",
        "ledger": [
            ledger_entry("synthesize", cost, decision=mode + ("; " + notes[0] if notes else ""))
        ],
    }


# Below this confidence a step's result is not stated as an answer: "I don't know" is.
# Calibrated on the demo: the retrieval expert scores answerable questions 0.5-0.66 and
# questions its documents do not cover 0.06-0.09; nl2sql's own fallbacks (no two drafts agree,
# no final query ran) score 0.1-0.33, agreeing drafts 0.5-1.0 (2 of 4 after a further draft).
CONFIDENCE_FLOOR = 0.3
# Choosing the sentences to quote embeds a question and a passage's sentences (milliseconds once
# the encoder is loaded; the router has loaded it by then).
QUOTE_TIMEOUT_S = 60.0
CANT_CHANGE = "I can't change data"


def _refusal(outcome: StepOutcome) -> str:
    """The step's refusal to change data, in words (empty when it is not one)."""
    out = outcome.get("output")
    if outcome["status"] != "ok" or not (isinstance(out, dict) and out.get("refused") == "write"):
        return ""
    reason = str(out.get("message") or "this workspace's databases are read-only")
    if not reason.startswith("Podium"):  # a name keeps its capital
        reason = reason[0].lower() + reason[1:]
    return f"{CANT_CHANGE}: {reason}"


def _doubt(outcome: StepOutcome) -> str:
    """One sentence on a part of the task that has no trusted answer."""
    asked = outcome["input"].strip().rstrip("?.")
    if outcome["status"] == "ok":
        return (
            f"I don't know the answer to “{asked}?”: the best result I found has confidence "
            f"{outcome['confidence']:.2f}, below the {CONFIDENCE_FLOOR:.2f} I need to state it."
        )
    if outcome["status"] == "awaiting_approval":
        return f"“{asked}” still waits for your approval."
    why = (outcome.get("error") or "it did not run").rstrip(".")
    return f"I could not answer “{asked}?”: its step did not succeed ({why})."


def _nothing_known(
    plan: Plan, results: dict[str, StepOutcome], refused: dict[str, StepOutcome]
) -> str:
    parts = [_refusal(o) for o in refused.values()]
    rest = [o for sid, o in results.items() if sid not in refused]
    if rest:
        parts.append(
            "I don't know. None of this workspace's sources gave an answer I can trust."
            if not refused
            else ""
        )
        parts.extend(_doubt(o) for o in rest)
    elif not parts:
        parts.append("I don't know: no step produced a result.")
    return " ".join(p for p in parts if p)


async def _written(
    ctx: PodiumContext,
    run_id: str,
    task: str,
    plan: Plan,
    results: dict[str, StepOutcome],
    quotes: dict[str, Quote],
) -> tuple[str, str, Cost, list[str]]:
    """The model writes the answer, streamed a sentence at a time; nothing streamed is ever
    taken back.

    Each sentence is checked before it is sent (no number that is not in a result, no echo of
    the prompt, no repetition). The first sentence that fails ends the model's part; what a
    step found that the sent sentences do not reflect is then added step by step, each part
    checked the same way. So the answer grows only by appending, and a reader never sees a
    draft that is later replaced.
    """
    read = {sid: result_from_outcome(o) for sid, o in results.items() if o["status"] == "ok"}
    outputs = [o.get("output") for o in results.values() if o["status"] == "ok"]
    block = results_block(plan, results, read, quotes)
    texts = [_all_text(o) for o in results.values()]
    sources = dataclasses.replace(
        Sources.of([task, block, *texts]),
        unsupported=unsupported_claims(results),
        rows=row_facts(outputs),
        counted=counted_nouns(outputs),
        internal=_bookkeeping(plan, [task, *texts]),
    )
    # A passage step's finding is its quote: the point the writer was given.
    findings: dict[str, Finding] = {
        sid: quotes[sid].text if sid in quotes else _finding(results[sid], result.text(900))
        for sid, result in read.items()
    }
    model = ctx.models.chat(role="synthesizer")
    label = ctx.models.label(role="synthesizer")
    notes: list[str] = []
    answer = ""
    # A step whose every row answers part of the question is judged on the whole answer (are
    # all the groups there?), so the writer's sentences are held until it has finished: the
    # 1.5B opened "The average order value per country is 451.08 for the Netherlands." for
    # eight countries, and that opener stood before the full list that had to follow it.
    held: list[str] | None = [] if any(isinstance(f, tuple) for f in findings.values()) else None

    def send(text: str) -> None:
        nonlocal answer
        answer += text
        if held is not None:
            held.append(text)
        else:
            emit(AnswerToken(run_id=run_id, text=text))

    with metered() as (meter, timing):
        try:
            pending = ""
            problems: list[str] = []
            messages = [SystemMessage(SYSTEM), HumanMessage(f"Task: {task}\n\nResults:\n{block}")]
            async for chunk in model.astream(messages):
                pending += str(chunk.content)
                pending, problems = _send_sentences(pending, answer, sources, send)
                if problems:
                    break
            if not problems and pending.strip():
                _, problems = _send_sentences(pending + "\n", answer, sources, send)
            missing = _missing(answer, findings)
            if held is not None:
                if problems or missing:
                    answer = ""  # never shown: the steps are answered one by one instead
                for text in held if answer else []:
                    emit(AnswerToken(run_id=run_id, text=text))
                held = None
            mode = "model"
            if problems or missing or not answer.strip():
                why = "; ".join(problems) or (
                    f"leaves out what step {', '.join(missing)} found" if missing else "empty"
                )
                notes.append(f"completed the model's answer step by step: {why}")
                wrote = bool(answer.strip())
                rest = [st for st in plan.steps if st.id in missing or not wrote]
                parts = await _step_by_step(model, rest, results, sources, findings)
                if parts:
                    send(("" if not wrote or answer[-1:].isspace() else " ") + parts)
                mode = "model + composed" if wrote else "composed"
            for shared in _unsaid_matches(answer, results):
                send(("" if not answer or answer[-1:].isspace() else " ") + f"(Note: {shared}.)")
            answer = answer.strip() or "I don't know: no step produced a result."
        except Exception as exc:
            unavailable = as_model_unavailable(exc, label)
            if unavailable is not None:
                raise unavailable from exc
            raise
    cost = Cost(
        model=", ".join(meter.models) or label,
        input_tokens=meter.input_tokens,
        output_tokens=meter.output_tokens,
        ms=timing["ms"],
        large_calls=meter.large_calls,
    )
    return answer, mode, cost, notes


_SENTENCE_END = re.compile(r"(?<=[.!?:;])\s+|\n+")


def _send_sentences(
    pending: str, answer: str, sources: Sources, send: Any
) -> tuple[str, list[str]]:
    """Send every complete sentence of ``pending`` that passes the checks; return the
    incomplete rest and, if a sentence failed, why (it and everything after are dropped)."""
    while (end := _SENTENCE_END.search(pending)) is not None:
        sentence, pending = pending[: end.end()], pending[end.end() :]
        if not sentence.strip():
            continue
        sentence = without_unnamed_symbols(sentence, sources)
        problems = text_problems(answer + sentence, sources)
        if problems:
            return "", problems
        send(sentence)
        answer += sentence
    return pending, []


_COUNT_WORDS = {"2": "two|both", "3": "three", "4": "four", "5": "five", "6": "six"}


def _unsaid_matches(answer: str, results: dict[str, StepOutcome]) -> list[str]:
    """What a step says about a name several rows share ("2 rows of customers match name =
    'Olga Martin'; the result covers all of them", from nl2sql) when the answer does not give
    that count: a reader asking about "Olga Martin" must learn the figure covers two people."""
    unsaid = []
    for outcome in results.values():
        shared = (outcome.get("details") or {}).get("matches")
        if not isinstance(shared, str) or not shared:
            continue
        count = shared.split(" ", 1)[0]
        number = rf"(?<![\d.,]){re.escape(count)}(?![\d]|[.,]\d)"  # not the 2 of "2,345.60"
        word = rf"\b(?:{_COUNT_WORDS[count]})\b" if count in _COUNT_WORDS else number
        if not (re.search(number, answer) or re.search(word, answer, re.I)):
            unsaid.append(shared)
    return unsaid


_TOKEN = re.compile(r"[\w-]+")


def _bookkeeping(plan: Plan, said_in: list[str]) -> frozenset[str]:
    """The plan's expert names that none of ``said_in`` (the task, the steps' results)
    contains."""
    said = set(_TOKEN.findall(" ".join(said_in).lower()))
    return frozenset(n for s in plan.steps if (n := s.expert.lower()) not in said)


def _missing(answer: str, findings: dict[str, Finding]) -> list[str]:
    """The steps whose finding the answer does not reflect (the answer is read once)."""
    numbers = {_canon(n) for n in _NUMBER.findall(answer)}
    words = _content_words(answer)
    return [
        sid
        for sid, fact in findings.items()
        if not all(_reflects(numbers, words, part) for part in _parts(fact))
    ]


def _parts(fact: Finding) -> tuple[str, ...]:
    return (fact,) if isinstance(fact, str) else fact


# A step's rows each answer part of the question when the expert says what they answer per
# ("answers_per": "country" for "What is the average order value per country?"). The 1.5B
# wrote "The average order value per country is 451.08 for the Netherlands." for eight rows.
# Up to this many rows: more than the summary shows are a listing, not figures to restate.
_EVERY_ROW_MAX = 10
_ROW_COUNT = re.compile(r"\s*\(\d[\d,]*\+? rows\)\s*$")


def _finding(outcome: StepOutcome, text: str) -> Finding:
    """What the answer must carry of a step: its text, or each of its rows when every row
    answers part of the question (see ``_EVERY_ROW_MAX``)."""
    if not (outcome.get("details") or {}).get("answers_per"):
        return text
    rows = [r for r in _ROW_COUNT.sub("", _LABELS.sub("", text)).split("; ") if r.strip()]
    return tuple(rows) if 1 < len(rows) <= _EVERY_ROW_MAX else text


def compose(plan: Plan, results: dict[str, StepOutcome]) -> str:
    """The answer put together from each successful step's own summary, without a model:
    one sentence per step."""
    lines = [
        _line(o, result_from_outcome(o).text(900), raw=True)
        for step in plan.steps
        if (o := results.get(step.id)) is not None and o["status"] == "ok"
    ]
    return "\n".join(lines) if lines else "I don't know: no step produced a result."


LOW_CONFIDENCE = 0.5
_SINGLE = re.compile(r"^[^:\n]{1,80}: ([^;\n]{1,80})$")  # nl2sql's "COUNT(*): 543"


def _line(outcome: StepOutcome, sentence: str, *, raw: bool) -> str:
    """One step's part of the answer: the model's sentence as it is; a raw result (a value,
    rows, a passage) in a sentence that names the question it answers. Low confidence is
    said in words."""
    text = sentence
    if raw:
        asked = outcome["input"].strip().rstrip(" ?.")
        single = _SINGLE.match(sentence.strip())
        rows = rows_in_words(sentence)
        found = f" {rows}" if rows else f": {sentence.strip().rstrip('.')}"
        text = (
            f"The answer to “{asked}?” is {single.group(1)}."
            if single
            else f"For “{asked}?”, I found{found}."
        )
    if outcome["confidence"] < LOW_CONFIDENCE:
        text += f" I am not sure of this (confidence {outcome['confidence']:.2f})."
    return text


async def _step_by_step(
    model: Any,
    steps: list[Step],
    results: dict[str, StepOutcome],
    sources: Sources,
    findings: dict[str, Finding],
) -> str:
    parts = []
    for step in steps:
        outcome = results.get(step.id)
        if outcome is None or outcome["status"] != "ok":
            continue
        finding = findings.get(step.id)
        fact = finding if isinstance(finding, str) else result_from_outcome(outcome).text(900)
        reply = await model.ainvoke(
            [
                SystemMessage(STEP_SYSTEM),
                HumanMessage(f"Question: {outcome['input']}\nResult: {fact}\nAnswer:"),
            ]
        )
        with_fact = sources.plus(fact)
        sentence = without_unnamed_symbols(str(reply.content).strip(), with_fact)
        raw = bool(grounding_problems(sentence, with_fact, {step.id: finding or fact}))
        parts.append(_line(outcome, fact if raw else sentence, raw=raw))
    return "\n".join(parts)


def _all_text(outcome: StepOutcome) -> str:
    return " ".join(
        [str(outcome.get("output")), str(outcome.get("summary") or "")]
        + [str(e.get("text", "")) for e in outcome.get("evidence", [])]
    )
