"""Semantic routing: the planner model proposes, the embeddings check.

A 135M planner constrained to the plan schema still sends most requests to one expert and
fills inputs with noise. This module checks every proposed step against the task itself:
the task is split into clauses, each clause and each step input is embedded, and compared to
what each expert says it does (its description, examples and workspace hints). Steps whose
input says nothing about the task are re-anchored to a clause, steps sent to the wrong expert
are reassigned, compound inputs are narrowed, duplicates merged, and clauses no step covers
get a step of their own. Every correction is written into ``plan.notes``.

A strong planner's good plan passes through unchanged: corrections need a clear margin.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING

import numpy as np

from podium.experts.nl2sql.linking import number_variants
from podium.experts.registry import ExpertRegistry
from podium.models.embeddings import Embedder

from .plan import Plan, Step

if TYPE_CHECKING:
    from .sources import NamedValue

_CUES = (
    "what|how|which|who|whom|whose|when|where|why|is|are|was|were|does|do|did|can|could|"
    "should|will|would|has|have|list|show|find|give|tell|check|verify|summari[sz]e|explain|"
    "describe|compare|count|match|map|get|look|search|name|also|then|please"
)
_SENTENCE = re.compile(r"(?<=[.?!;])\s+")
_COORDINATION = re.compile(rf",?\s+(?:and|but|plus|also|then|as well as)\s+(?=(?:{_CUES})\b)", re.I)
_LEADING = re.compile(r"^(?:and|also|then|plus|please|but)\s+", re.I)
# A question asking *for* something (what, how many, within how many days ...) rather than
# whether something holds: the wh-word within its first three words, or opening the main
# clause after a condition ("If it arrives damaged, how many days ...?").
_WH = r"(?:what|which|who|whom|whose|when|where|why|how)\b"
_WH_QUESTION = re.compile(
    rf"^\W*(?:\w+\W+){{0,2}}{_WH}|^(?:if|when|for|after)\b[^,?]*,\s*{_WH}", re.I
)


def asks_for_information(text: str) -> bool:
    """A wh-question ("Within how many days can I return ...?"): there is no claim in it to
    check. "Is it true that ...", "Verify that ..." and yes/no questions are claims."""
    return text.rstrip().endswith("?") and bool(_WH_QUESTION.match(text))


# Openers of a question that asks for records: "which ...", "what ...", "who are ...",
# "list ...". What follows decides whether the records are what is asked for.
_RECORDS_OPENER = re.compile(
    r"^\W*(?:which|what|who\s+(?:are|is|were|was)|(?:list|show|name)(?:\s+all)?|"
    r"give\s+me(?:\s+all)?)\b",
    re.I,
)
# Words after the opener that make the question about something the records do or have,
# not about which they are ("What do gold customers get?", "What happens to ...").
_NOT_RECORDS = frozenset(
    "do does did is are was were has have had can could will would should may might must "
    "happens happened kind kinds type types sort".split()
)


def asks_for_records_of(text: str, tables: set[str]) -> str | None:
    """The table among ``tables`` whose records a question asks for: its noun heads the
    question's wh-phrase, at most three words after the opener ("Which gold customers live
    in Canada?", "Who are the gold customers in Norway?", "List the products in tents").
    None for a question about something else ("What do gold customers get?")."""
    opener = _RECORDS_OPENER.match(text)
    if opener is None:
        return None
    by_noun = {form: t for t in tables for form in (t.lower(), *number_variants(t.lower()))}
    for word in re.findall(r"[\w'-]+", text[opener.end() :].lower())[:4]:
        if word in _NOT_RECORDS:
            return None
        if word in by_noun:
            return by_noun[word]
    return None


def split_clauses(task: str, min_words: int = 3) -> list[str]:
    """Split a task into the requests it contains ("How many X, and what is Y?" -> 2)."""
    clauses: list[str] = []
    for sentence in _SENTENCE.split(task.strip()):
        question = sentence.rstrip().endswith("?")
        for part in _COORDINATION.split(sentence):
            part = _LEADING.sub("", part.strip(" ,;")).strip()
            if not part:
                continue
            if question and not part.endswith(("?", ".", "!")):
                part += "?"
            if clauses and len(part.split()) < min_words:
                clauses[-1] = f"{clauses[-1]} {part}"
            else:
                clauses.append(part)
    return clauses or [task.strip()]


@dataclass(frozen=True)
class Route:
    expert: str
    score: float
    margin: float
    alternatives: tuple[str, ...] = ()  # the other experts, nearest first


@dataclass
class RouterSettings:
    """Thresholds of the check, as cosine similarities of all-MiniLM-L6-v2 vectors."""

    min_route_score: float = 0.15  # below this no expert is a plausible owner of a clause
    reassign_margin: float = 0.08  # another expert must beat the chosen one by this much
    anchor_similarity: float = 0.45  # a step input this far from every clause is noise
    cover_similarity: float = 0.6  # a clause counts as covered by a step this similar
    duplicate_similarity: float = 0.92
    # With a planner that routes well on its own (the ladder's 1.5B, remote models), the check
    # only records where it disagrees: on the planning dev set its corrections turned right
    # 1.5B plans wrong (fact checks sent to retrieval), while they rescue a 135M planner.
    advisory: bool = False
    # ... except where the router is the better judge. Its routes into ``overrule_into`` rest on
    # the workspace's own schema (every table is a hint: "how many customers: name, country,
    # ..."), and on the planning dev set none of them at a margin of ``overrule_margin`` or
    # more was wrong, while the 1.5B planner sent such requests to retrieval ("List the
    # countries with the most customers", "How many customers live in Germany?" answered
    # from a loyalty passage). Its routes into retrieval at such margins were wrong on three
    # fact checks, so those stay advisory. ``benchmarks/planning.py`` reports both.
    overrule_into: frozenset[str] = frozenset({"nl2sql"})
    overrule_margin: float = 0.20
    # Experts that check claims: a wh-question sent to one has nothing for it to check, and
    # goes to the router's best other expert whatever the margin (the 1.5B planner sent
    # "Within how many days of delivery can I return an unused item?" to the fact checker).
    claims_only: frozenset[str] = frozenset({"fact_check"})
    # A request a step could not answer goes once to the expert the router ranks next, when
    # that one scores at most this much below the step's own (fallback.py); None: never.
    fallback_margin: float | None = 0.10
    # Experts that search with their input: one that refers back ("what do they get?") is
    # given the request it refers to as well (:func:`with_antecedents`).
    context_into: frozenset[str] = frozenset({"retrieval"})


class SemanticRouter:
    """Routes texts to experts by embedding similarity and checks plans with it."""

    def __init__(
        self,
        embedder: Embedder,
        registry: ExpertRegistry,
        hints: dict[str, list[str]] | None = None,
        settings: RouterSettings | None = None,
        stored_values: Callable[[str], list[NamedValue]] | None = None,
    ) -> None:
        self.embedder = embedder
        self.settings = settings or RouterSettings()
        # The values of the workspace's data a text names (sources.stored_values_named).
        self.stored_values = stored_values
        self.names: list[str] = []
        owners: list[int] = []
        texts: list[str] = []
        for i, exp in enumerate(registry):
            self.names.append(exp.name)
            for text in [exp.description, *exp.examples, *(hints or {}).get(exp.name, [])]:
                if text.strip():
                    texts.append(text)
                    owners.append(i)
        self._owners = np.asarray(owners)
        self._vectors = embedder.encode(texts)

    def scores(self, texts: list[str]) -> np.ndarray:
        """(len(texts), n_experts): best similarity of each text to each expert's texts."""
        sims = self.embedder.encode(texts) @ self._vectors.T
        out = np.full((len(texts), len(self.names)), -1.0, dtype=np.float32)
        for j in range(len(self.names)):
            mask = self._owners == j
            if mask.any():
                out[:, j] = sims[:, mask].max(axis=1)
        return out

    def route(self, text: str) -> Route:
        return self.routes([text])[0]

    def routes(self, texts: list[str]) -> list[Route]:
        result = []
        for row in self.scores(texts):
            order = np.argsort(-row)
            best = float(row[order[0]])
            second = float(row[order[1]]) if len(order) > 1 else 0.0
            others = tuple(self.names[j] for j in order[1:])
            result.append(Route(self.names[order[0]], best, best - second, others))
        return result

    # -- the plan check -----------------------------------------------------------------------

    def review(self, plan: Plan, task: str) -> Plan:
        """The plan a run uses: corrected (``check``), or in advisory mode the planner's own
        plan with only the trusted corrections applied (``overrule``) and the router's other
        disagreements recorded in its notes."""
        if not self.settings.advisory:
            return with_antecedents(self.check(plan, task), task, self.settings.context_into)
        trusted = self.overrule(plan, task)
        changes = self.check(trusted, task).notes[len(trusted.notes) :]
        notes = [*trusted.notes, *(f"router disagrees (not applied): {n}" for n in changes)]
        reviewed = trusted.model_copy(update={"notes": notes})
        return with_antecedents(reviewed, task, self.settings.context_into)

    def overrule(self, plan: Plan, task: str) -> Plan:
        """The corrections a strong planner's plan still takes (``overrule_into``): a
        single-request step moved to such an expert, and a step added for a request of the
        task only such an expert serves and no step covers, each at a clear margin."""
        s = self.settings
        steps = [step.model_copy(deep=True) for step in plan.steps]
        notes = list(plan.notes)
        singles = [
            st for st in steps if not _REF.search(st.input) and len(split_clauses(st.input)) == 1
        ]
        self._questions_not_claims(steps, notes, prefix="router overruled: ")
        for st, route in zip(singles, self.routes([st.input for st in singles]), strict=True):
            if route.expert == st.expert or route.expert not in s.overrule_into:
                continue
            why = f"margin {route.margin:.2f}"
            if route.margin < s.overrule_margin:
                named = self._names_stored_value(st, route)
                if named is None:
                    continue
                why += f"; {named}"
            notes.append(f"router overruled: {st.id}: {st.expert} -> {route.expert} ({why})")
            st.expert = route.expert
        clauses = split_clauses(task)
        sims = self._sim(clauses, [st.input for st in steps]) if steps else None
        for k, (clause, route) in enumerate(zip(clauses, self.routes(clauses), strict=True)):
            if route.expert not in s.overrule_into or route.margin < s.overrule_margin:
                continue
            if sims is not None and any(
                st.expert == route.expert and sims[k, j] >= s.cover_similarity
                for j, st in enumerate(steps[: sims.shape[1]])
            ):
                continue
            new_id = next_step_id(steps)
            steps.append(Step(id=new_id, expert=route.expert, input=clause))
            notes.append(
                f"router overruled: {new_id}: added {route.expert} for {clause!r} "
                f"(margin {route.margin:.2f})"
            )
        return Plan(steps=steps, notes=notes)

    def _names_stored_value(self, step: Step, route: Route) -> str | None:
        """The stored values that make a close call for the database a clear one: a record
        the question names ("What does the Ridge Ultralight Tent cost?", 0.27 for the
        database against 0.25 for the documents, which never mention it), a class of records
        it ranks ("What is the cheapest backpack?": the documents list the categories, only
        the data has prices). Classes alone are not enough: "What do gold members get?" is
        for the loyalty page, and so is "What do gold members in Germany get?" (two classes
        as evidence sent it to the database, while fixing "Which gold customers live in
        Canada?"; not kept). Nor is a claim to check. A class is enough when the question
        asks for the very records it qualifies ("Who are the gold customers in Norway?",
        "Which products are tents?": :func:`asks_for_records_of`)."""
        if self.stored_values is None or route.margin <= 0 or not asks_for_information(step.input):
            return None
        named = self.stored_values(step.input)
        records = [v for v in named if v.names_record]
        if records:
            return f"it names {records[0]}, stored in the database"
        if named and _RANKS.search(step.input):
            return f"it names {named[0]}, stored in the database"
        asked = asks_for_records_of(step.input, {v.table for v in named})
        if asked is not None:
            value = next(v for v in named if v.table == asked)
            return f"it asks which {asked} hold {value}, stored in the database"
        return None

    def _questions_not_claims(self, steps: list[Step], notes: list[str], prefix: str) -> None:
        """A wh-question sent to a claim checker goes to the best other expert."""
        claims_only = self.settings.claims_only
        for st in steps:
            if st.expert in claims_only and asks_for_information(st.input):
                other = self._best_other(st.input, exclude=claims_only)
                if other is not None:
                    notes.append(
                        f"{prefix}{st.id}: {st.expert} -> {other} (a question, not a claim "
                        "to check)"
                    )
                    st.expert = other

    def _best_other(self, text: str, exclude: frozenset[str]) -> str | None:
        row = self.scores([text])[0]
        allowed = [j for j, name in enumerate(self.names) if name not in exclude]
        if not allowed:
            return None
        return self.names[max(allowed, key=lambda j: row[j])]

    def check(self, plan: Plan, task: str) -> Plan:
        """Return a corrected copy of ``plan`` with the reasons in ``notes``."""
        s = self.settings
        clauses = split_clauses(task)
        clause_routes = self.routes(clauses)
        steps = [step.model_copy(deep=True) for step in plan.steps]
        notes = list(plan.notes)

        # 1. Anchor: a step whose input resembles no part of the task gets a clause instead.
        if steps:
            sims = self._sim([st.input for st in steps], clauses)
            taken: set[int] = set()
            for i, st in enumerate(steps):
                if sims[i].max() >= s.anchor_similarity:
                    continue
                owned = [k for k, r in enumerate(clause_routes) if r.expert == st.expert]
                free = [k for k in owned if k not in taken] or [
                    k for k in range(len(clauses)) if k not in taken
                ]
                if not free:
                    continue
                k = max(free, key=lambda k: sims[i, k])
                taken.add(k)
                notes.append(
                    f"{st.id}: input {st.input[:40]!r} does not match the task; "
                    f"anchored to {clauses[k]!r}"
                )
                st.input = clauses[k]

        # 1b. Faithful: an input that adds words the task never said drifts from the request
        #     (a small planner copies its few-shot examples); the user's own clause replaces it.
        task_words = _words(task)
        for st in steps:
            if _REF.search(st.input) or not (_words(st.input) - task_words):
                continue
            k = int(np.argmax(self._sim([st.input], clauses)[0]))
            added = sorted(_words(st.input) - task_words)
            notes.append(
                f"{st.id}: input added {', '.join(added[:4])!s} to the task; using {clauses[k]!r}"
            )
            st.input = clauses[k]

        # 2. Narrow: a step that carries several clauses meant for different experts keeps its own.
        if len(clauses) > 1:
            for st in steps:
                inside = [k for k, c in enumerate(clauses) if _norm(c) in _norm(st.input)]
                owners = {clause_routes[k].expert for k in inside}
                if len(inside) < 2 or len(owners) < 2:
                    continue
                mine = [clauses[k] for k in inside if clause_routes[k].expert == st.expert]
                if mine:
                    notes.append(f"{st.id}: narrowed a compound input to what {st.expert} does")
                    st.input = " ".join(mine)

        # 3. Reassign: the expert must be a plausible owner of the step's input (and a
        #    question is not a claim to check).
        self._questions_not_claims(steps, notes, prefix="")
        if steps:
            table = self.scores([st.input for st in steps])
            for i, st in enumerate(steps):
                if st.expert not in self.names:
                    continue
                best = int(np.argmax(table[i]))
                chosen = table[i, self.names.index(st.expert)]
                if (
                    self.names[best] != st.expert
                    and table[i, best] >= s.min_route_score
                    and table[i, best] - chosen >= s.reassign_margin
                ):
                    notes.append(
                        f"{st.id}: {st.expert} -> {self.names[best]} "
                        f"(similarity {chosen:.2f} vs {table[i, best]:.2f})"
                    )
                    st.expert = self.names[best]

        # 4. Merge duplicates (same expert, same request).
        steps = self._dedupe(steps, notes)

        # 5. Cover: every clause with a plausible owner has a step of that expert. ``cover``
        #    covers the steps before this loop only; the steps it adds are compared by text
        #    (indexing them into ``cover`` was an IndexError on hostile multi-clause tasks).
        planned = list(steps)
        cover = self._sim(clauses, [st.input for st in planned]) if planned else None
        for k, (clause, route) in enumerate(zip(clauses, clause_routes, strict=True)):
            if route.score < s.min_route_score:
                continue
            covered = (
                cover is not None
                and any(
                    st.expert == route.expert and cover[k, j] >= s.cover_similarity
                    for j, st in enumerate(planned)
                )
            ) or any(
                st.expert == route.expert and st.input == clause for st in steps[len(planned) :]
            )
            if not covered:
                new_id = next_step_id(steps)
                steps.append(Step(id=new_id, expert=route.expert, input=clause))
                notes.append(f"{new_id}: added {route.expert} for uncovered {clause!r}")

        return Plan(steps=steps, notes=notes)

    def _dedupe(self, steps: list[Step], notes: list[str]) -> list[Step]:
        if len(steps) < 2:
            return steps
        sims = self._sim([st.input for st in steps], [st.input for st in steps])
        keep: list[Step] = []
        replaced: dict[str, str] = {}
        for i, st in enumerate(steps):
            twin = next(
                (
                    k
                    for k in keep
                    if k.expert == st.expert
                    and sims[i, steps.index(k)] >= self.settings.duplicate_similarity
                ),
                None,
            )
            if twin is None:
                keep.append(st)
            else:
                replaced[st.id] = twin.id
                notes.append(f"{st.id}: merged into {twin.id} (same request)")
        for st in keep:
            st.depends_on = sorted({replaced.get(d, d) for d in st.depends_on} - {st.id})
        return keep

    def _sim(self, a: list[str], b: list[str]) -> np.ndarray:
        return self.embedder.encode(a) @ self.embedder.encode(b).T


_REF = re.compile(r"\{s\d+\}")
# Words that rank records: documents describe things, a database orders them.
_RANKS = re.compile(
    r"\b(?:cheapest|dearest|most|least|highest|lowest|largest|smallest|biggest|fewest|"
    r"best[- ]selling|top\s+\d+|newest|oldest)\b",
    re.I,
)
# Words that stand for something named earlier in the task. "it" is left out: "is it true
# that ..." and "how long does it take" refer to nothing.
_PLURAL_REFERENCE = re.compile(r"\b(?:they|them|their|theirs|those|these)\b", re.I)


def with_antecedents(plan: Plan, task: str, experts: frozenset[str]) -> Plan:
    """``plan`` with each step of ``experts`` whose input refers back to an earlier request of
    the task ("How many gold customers do we have, and what do they get?" planned as a search
    for "What do they get?", which found nothing it could trust: 0.15) searching with that
    request in front of its own ("How many gold customers do we have? What do they get?")."""
    clauses = split_clauses(task)
    if len(clauses) < 2:
        return plan
    steps = []
    notes = list(plan.notes)
    for st in plan.steps:
        k = _clause_of(st.input, clauses)
        if (
            st.expert in experts
            and not st.depends_on
            and not _REF.search(st.input)
            and _PLURAL_REFERENCE.search(st.input)
            and k
        ):
            before = clauses[k - 1].rstrip()
            if before[-1] not in ".?!":
                before += "?" if clauses[k - 1].lstrip().lower().startswith(_ASKING) else "."
            st = st.model_copy(update={"input": f"{before} {st.input}"})
            notes.append(f"{st.id}: searches with the request it refers to: {before!r}")
        steps.append(st)
    return plan.model_copy(update={"steps": steps, "notes": notes})


_ASKING = ("what", "which", "who", "how", "when", "where", "why", "is", "are", "do", "does")


def _clause_of(text: str, clauses: list[str]) -> int | None:
    """The index of the task's clause that ``text`` is (as written, or nearly)."""
    words = _words(text)
    best, overlap = None, 0.0
    for k, clause in enumerate(clauses):
        if _norm(clause) == _norm(text):
            return k
        theirs = _words(clause)
        share = len(words & theirs) / max(1, len(words | theirs))
        if share > overlap:
            best, overlap = k, share
    return best if overlap >= 0.6 else None


_STOPWORDS = frozenset(
    "a an the of in on at to for from by with and or is are was were be been what "
    "which who how many much does do did that this these those it its our your my "
    "their me us please".split()
)


def _words(text: str) -> set[str]:
    """Content words, crudely stemmed (plural s), for comparing a step with the task."""
    words = re.findall(r"[a-z0-9]+", text.lower())
    return {w.rstrip("s") if len(w) > 3 else w for w in words if w not in _STOPWORDS}


def _norm(text: str) -> str:
    return " ".join(re.sub(r"[^\w\s]", " ", text.lower()).split())


def next_step_id(steps: list[Step]) -> str:
    """The first free ``s<n>`` from the number of steps on (the planner's own id style)."""
    used = {st.id for st in steps}
    n = len(steps) + 1
    while f"s{n}" in used:
        n += 1
    return f"s{n}"
