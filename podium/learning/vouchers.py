"""Who vouched for a step's result, read from what the run stored (its events and output).

Each function returns the vouchers it found; none of them trusts a step's own confidence.

* :func:`nl2sql_vouchers` — NL2SQL's cascade: agreeing drafts (``quorum``), or the large
  model's query returning a draft's rows (``agreement``);
* :func:`large_vouchers` — the large model (role ``large``) confirming a small expert's verdict
  (``large_confirmation``): a ``cascade`` or ``verify`` policy in which the large model, asked
  on its own, gave the same answer; the fact-check expert's own cross-check of a claim; the
  schema matcher's rerank keeping every top choice;
* :func:`approval_vouchers` — a person approved the step's result.
"""

from __future__ import annotations

from collections.abc import Collection, Iterable
from dataclasses import dataclass
from typing import Any

from podium.records import StepRecord

LARGE = "large_confirmation"


@dataclass(frozen=True)
class Voucher:
    """One voucher. ``claims``: for a fact check, the claims it vouches for (empty: all)."""

    kind: str
    detail: str
    by: str = ""
    claims: tuple[int, ...] = ()

    def mark(self, at: float) -> dict[str, Any]:
        """The voucher as a provenance entry."""
        out: dict[str, Any] = {"kind": self.kind, "detail": self.detail, "by": self.by, "at": at}
        if self.claims:
            out["claims"] = list(self.claims)
        return out


def nl2sql_vouchers(step_events: list[dict[str, Any]]) -> list[Voucher]:
    """What the NL2SQL cascade's own decisions vouch for: agreeing drafts, or the large
    model's query returning the same rows as a draft. Escalations alone vouch for nothing."""
    found: list[Voucher] = []
    for ev in step_events:
        data = ev.get("data") or {}
        if ev.get("type") != "expert_note" or ev.get("kind") != "nl2sql_decision":
            continue
        action = data.get("action")
        if action == "agreed":
            found.append(Voucher("quorum", str(data.get("reason", "")), "small drafts"))
        elif action in ("finalised", "repaired") and data.get("drafts_agreeing_with_final", 0):
            n = data["drafts_agreeing_with_final"]
            found.append(
                Voucher(
                    "agreement",
                    f"the large model's query returned the rows of {n} draft(s)",
                    "small+large",
                )
            )
    return found


def large_vouchers(step: StepRecord, step_events: list[dict[str, Any]]) -> list[Voucher]:
    """The large model confirming the small expert's verdict, wherever the run shows it.

    * a ``large_check`` note (``cascade``, ``verify``): the large model's own answer in the
      first round agreed with the small expert's, and that answer is the step's result (for
      ``verify``: the verification ended ``agreed`` in that round);
    * a fact check whose claims the large model cross-checked: the claims it agreed on (only
      those; the voucher names them);
    * a schema match the large model reranked without changing any column's top choice.
    """
    notes = {
        str(e.get("kind")): e.get("data") or {}
        for e in step_events
        if e.get("type") == "expert_note"
    }
    found: list[Voucher] = []
    check = notes.get("large_check")
    if check and check.get("agreed") and check.get("round") == 1:
        how = str(check.get("mechanism", ""))
        verified = notes.get("verification", {})
        if how == "cascade" or (
            verified.get("outcome") == "agreed" and verified.get("rounds") == 1
        ):
            found.append(
                Voucher(LARGE, f"the large model gave the same answer ({how})", "small+large")
            )
    out = step.output if isinstance(step.output, dict) else {}
    claims = out.get("claims")
    if isinstance(claims, list):
        agreed = tuple(
            i for i, c in enumerate(claims) if isinstance(c, dict) and c.get("outcome") == "agreed"
        )
        if agreed:
            found.append(
                Voucher(
                    LARGE,
                    f"the large model agreed on {len(agreed)} of {len(claims)} claim(s)",
                    "small+large",
                    claims=agreed,
                )
            )
    rerank = out.get("rerank")
    if isinstance(rerank, list) and rerank:
        ranked = [r for r in rerank if isinstance(r, dict) and "after" in r]
        if ranked and len(ranked) == len(rerank) and not any(r["top1_changed"] for r in ranked):
            found.append(
                Voucher(
                    LARGE,
                    f"the large model kept the matcher's top choice for {len(ranked)} column(s)",
                    "small+large",
                )
            )
    return found


def approval_vouchers(events: list[dict[str, Any]], step_id: str) -> list[Voucher]:
    """A person approved the step's *result* (an ``after`` approval; ``before`` only lets it
    run, and says nothing about what it returned)."""
    after = {
        e["step_id"]
        for e in events
        if e.get("type") == "approval_required" and e.get("when") == "after"
    }
    return [
        Voucher("approval", str(e.get("note") or "approved"), "person")
        for e in events
        if e.get("type") == "approval"
        and e.get("step_id") == step_id
        and e.get("approved")
        and step_id in after
    ]


# What the functions above read vouchers from: expert notes (NL2SQL's decisions, the large
# model's checks), a person's approval, and a step output's cross-checked claims or rerank.
_VOUCHING_EVENTS = frozenset({"expert_note", "approval"})
_VOUCHING_OUTPUT_KEYS = ("claims", "rerank")


def may_vouch(outputs: Iterable[Any], event_types: Collection[str]) -> bool:
    """Whether a run with these step outputs and event types can carry any voucher at all;
    when it cannot, harvesting it would read the whole run back from the store for nothing
    (~0.1 ms per step of a 64-step run)."""
    if not _VOUCHING_EVENTS.isdisjoint(event_types):
        return True
    return any(
        isinstance(out, dict) and any(k in out for k in _VOUCHING_OUTPUT_KEYS) for out in outputs
    )
