"""The fact-check expert: is this claim supported by the evidence?

Evidence comes from the request itself, from the results of the steps this one depends on
(their evidence, rows and outputs), and — when asked, or when there is nothing else — from
the workspace's documents through the retrieval expert.

Confidence: per (claim, sentence) pair the verifier's probabilities are calibrated on held-out
claims (temperature + bias; ECE in BENCHMARKS.md). A claim's confidence is that of the sentence
that decided it; for "not enough info", the smallest probability of "neither" among the
sentences checked. Under ``threshold``, a configured large model verifies too.
"""

from __future__ import annotations

import re
from typing import Any, Literal

from pydantic import BaseModel, Field

from podium.experts.base import Cost, Evidence, Expert, ExpertContext, ExpertResult

from .checker import ClaimCheck, FactChecker, Source, cross_verify, render
from .claims import split_claims, split_with_model
from .judge import Escalation, LargeJudge
from .verifier import Verifier

_ASK = re.compile(
    r"^\s*(?:(?:please\s+)?(?:fact[- ]?check|verify|check)"
    # "check this claim against our documents:", "verify the statement that ..."
    r"(?:\s+(?:this|the|that|a|my|our)\s+(?:claim|statement|fact|sentence))?"
    r"(?:\s+(?:against|with|in|using)\s+(?:our|the|my|your)\s+"
    r"(?:documents?|docs|sources?|evidence|records?|files?))?"
    r"(?:\s+(?:whether|if|that))?|"
    r"is it (?:true|correct|right) that|is it true|true or false)\s*[:,]?\s*",
    re.I,
)
_EVIDENCE = re.compile(r"\bevidence\s*:\s*", re.I)
# Escalate pairs under this calibrated confidence (chosen in BENCHMARKS.md, "Fact checking").
JUDGE_THRESHOLD = 0.6


class FactCheckRequest(BaseModel):
    text: str = Field(min_length=1, description="The claim(s) to check, in words.")
    evidence: list[str] = Field(
        default_factory=list, description="Evidence passages to check against (optional)."
    )
    search: bool = Field(
        default=False, description="Also search the workspace's documents for evidence."
    )
    k: int = Field(default=3, ge=1, le=20, description="Passages to retrieve per claim.")
    judge: Literal["none", "cascade", "large"] | None = Field(
        default=None,
        description="large: the large model judges every evidence sentence checked; cascade: "
        "only those the small verifier is unsure of, with its verdict as a hint (seconds per "
        "sentence on a CPU, each counted as a large-model call); none: the small verifier "
        "alone. Unset: the expert's default (none).",
    )


def parse_request(text: str) -> tuple[str, str]:
    """``"Is it true that X? Evidence: Y"`` → (``"X"``, ``"Y"``)."""
    parts = _EVIDENCE.split(text, maxsplit=1)
    claim = _ASK.sub("", parts[0]).strip().rstrip("?").strip()
    return claim, parts[1].strip() if len(parts) > 1 else ""


class FactCheckExpert(Expert):
    name = "fact_check"
    description = (
        "Checks whether claims are true according to evidence: the results of earlier steps, "
        "given passages or the workspace's documents. Says supported, refuted or not enough "
        "information for each claim, with the evidence sentence it relied on."
    )
    input_model = FactCheckRequest
    examples = (
        "Is it true that returns are accepted after 60 days?",
        "Check whether the warranty covers accidental damage.",
        "Verify that the numbers above match the documents.",
    )

    def __init__(
        self,
        verifier: Verifier | str | None = None,
        *,
        large: Any = None,
        threshold: float = 0.6,
        llm_split: bool = False,
        top_k: int = 4,
        judge: Literal["none", "cascade", "large"] = "none",
        judge_threshold: float = JUDGE_THRESHOLD,
        max_large_calls: int = 8,
    ) -> None:
        """
        Args:
            verifier: ``"builtin"`` (default: the head on MiniLM features), ``"cross"``, a
                ``.safetensors`` / ``.npz`` from ``podium train fact_check``, the folder of an
                NLI cross-encoder, or a :class:`Verifier`.
            large: model URI, role name (e.g. ``"large"``) or chat model that cross-verifies
                claims under ``threshold`` and (with ``llm_split``) splits claims; None: off.
            judge: ``"large"``: the ``large`` role judges every (claim, sentence) pair scored,
                without hint (:mod:`.judge`, calibrated on calibration claims); ``"cascade"``:
                only the pairs whose calibrated confidence is under ``judge_threshold``, least
                confident first, with the small verdict as a hint. At most
                ``max_large_calls`` per step (the least sure pairs first), and never more than
                the workspace's ``limits.max_large_calls``; each call counts as a large-model
                call in the step's cost. ``"none"`` (default): off. Both are opt-in: neither
                beat the default verifier clearly on held-out claims (BENCHMARKS.md).
        """
        self.checker = FactChecker(verifier, top_k=top_k)
        self.large = large
        self.threshold = threshold
        self.llm_split = llm_split
        self.judge = judge
        self.judge_threshold = judge_threshold
        self.max_large_calls = max_large_calls
        self.model = "local:minilm+fact_check"
        self._retrieval: Any = None

    def run(self, request: BaseModel, ctx: ExpertContext) -> ExpertResult:
        assert isinstance(request, FactCheckRequest)
        statement, inline = parse_request(request.text)
        chat = self._chat(ctx)
        if chat is not None and self.llm_split:
            claims = split_with_model(statement, chat)
        else:
            claims = split_claims(statement) or [statement]
        sources = [Source(e, "request") for e in [*request.evidence, inline] if e.strip()]
        sources += gather(ctx.dependencies)
        cost = Cost(model=self.model)
        if request.search or not sources:
            sources += self._search(claims, request.k, ctx)
        escalation = self._escalation(request, ctx)
        checks = self.checker.check(claims, sources, escalation)
        if escalation is not None and escalation.calls:
            judge = escalation.judge
            cost = cost + Cost(
                model=ctx.models.label(role="large") if ctx.models else "large",
                input_tokens=getattr(judge, "input_tokens", 0),
                large_calls=escalation.calls,
            )
        for check in checks:
            if chat is not None and check.confidence < self.threshold:
                cross_verify(check, chat, self.threshold)
                cost.large_calls += 1
        return _result(checks, cost, self.checker.verifier.name)

    def _escalation(self, request: FactCheckRequest, ctx: ExpertContext) -> Escalation | None:
        """The large model's part when the request (or, unset, the expert) asks for it."""
        mode = request.judge or self.judge
        if mode not in ("cascade", "large"):
            return None
        budget = self.max_large_calls
        limits = getattr(getattr(ctx.workspace, "config", None), "limits", None)
        if limits is not None and limits.max_large_calls is not None:
            budget = min(budget, limits.max_large_calls)
        from podium.models.provider import ModelProvider

        models = ctx.models or ModelProvider()
        judge = LargeJudge(models.chat(role="large"))
        if mode == "large":
            return Escalation(judge, float("inf"), budget, hint=False)
        return Escalation(judge, self.judge_threshold, budget)

    def _chat(self, ctx: ExpertContext) -> Any:
        if self.large is None:
            return None
        if not isinstance(self.large, str):
            return self.large
        if ctx.models is None:
            return None
        return ctx.models.chat(self.large, role="large")

    def _search(self, claims: list[str], k: int, ctx: ExpertContext) -> list[Source]:
        if ctx.workspace is None or ctx.models is None or not ctx.workspace.document_paths():
            return []
        from podium.experts.retrieval import RetrievalExpert, RetrievalRequest

        if self._retrieval is None:
            self._retrieval = RetrievalExpert()
        found: list[Source] = []
        for claim in claims:
            res = self._retrieval.run(RetrievalRequest(query=claim, k=k), ctx)
            found += [Source(e.text, e.source) for e in res.evidence]
        return found


def gather(results: Any) -> list[Source]:
    """The material of earlier steps: their evidence items, else their output as text."""
    out: list[Source] = []
    for step_id, res in dict(results or {}).items():
        items = _get(res, "evidence") or []
        for item in items:
            text, src = _get(item, "text"), _get(item, "source")
            if text:
                out.append(Source(str(text), str(src or step_id)))
        if not items and not _get(res, "error"):
            text = render(_get(res, "output"))
            if text:
                out.append(Source(text, str(step_id)))
    return out


def _get(obj: Any, key: str) -> Any:
    return obj.get(key) if isinstance(obj, dict) else getattr(obj, key, None)


# How a verdict reads in a step's summary, which the answer's writer is given. "Returns are
# free. → not enough info (0.81)" led the 1.5B writer to state "Returns are free." as a fact;
# the claim now stands in quotes inside a sentence that says what the documents do with it.
_VERDICT_WORDS = {
    "SUPPORTS": "The documents support",
    "REFUTES": "The documents contradict",
    "NOT_ENOUGH_INFO": "The documents neither confirm nor contradict",
}


def _verdict_line(check: ClaimCheck) -> str:
    claim = check.claim.strip().rstrip(".")
    line = f"{_VERDICT_WORDS[check.label]} “{claim}” (confidence {check.confidence:.2f})"
    if check.evidence and check.label != "NOT_ENOUGH_INFO":
        line += f"; evidence: {check.evidence}"
    return line if line.endswith(".") else line + "."


def _result(checks: list[ClaimCheck], cost: Cost, verifier: str) -> ExpertResult:
    labels = [c.label for c in checks]
    if "REFUTES" in labels:
        verdict = "REFUTES"
        confidence = max(c.confidence for c in checks if c.label == "REFUTES")
    elif labels and all(lb == "SUPPORTS" for lb in labels):
        verdict, confidence = "SUPPORTS", min(c.confidence for c in checks)
    else:
        verdict = "NOT_ENOUGH_INFO"
        confidence = min((c.confidence for c in checks if c.label == verdict), default=0.0)
    lines = [_verdict_line(c) for c in checks]
    return ExpertResult(
        output={"verdict": verdict, "claims": [c.as_dict() for c in checks]},
        summary="\n".join(lines),
        confidence=round(confidence, 4),
        evidence=[
            Evidence(
                kind="claim",
                text=c.evidence,
                source=c.source,
                score=c.confidence,
                metadata={"claim": c.claim, "label": c.label},
            )
            for c in checks
            if c.evidence
        ],
        cost=cost,
        details={"verifier": verifier, "claims": len(checks)},
    )
