"""Tables of an ``nl2sql_ladder.py`` run: each strategy read off the parts' per-question records.

Every strategy is derived from the calls it would make, recorded once per question:

* ``SmolLM2 alone``, ``0.5B alone`` (draft 0), ``1.5B alone`` (the ``large`` part's first call);
* ``vote`` — the three drafts' largest group of equal result sets (``after_drafts`` without
  escalation);
* ``full`` (the default) — two drafts with the same rows are accepted when no other draft
  returned other rows; otherwise the 1.5B model's own zero-shot query (the ``large`` part: its
  first call and its repair), fallback to the drafts — exactly what the expert runs
  (``escalation_shots=0``);
* ``full, any 2 agreeing`` — the default until 2026-12-04: any two drafts with the same rows
  are accepted, even when the third returned other rows;
* ``+ 4th draft`` arms — when no two agree, the fourth draft (the ``more`` part) is drawn
  first and a group that then outnumbers every other is accepted (``more_drafts=1``); they
  differ in what they do with a disputed pair;
* ``full, quorum 3`` — all three drafts must agree;
* ``full, few-shot escalation`` — the default until 2026-12-03: on escalation the ``escalate``
  part's answer (the large model's query with four examples, one repair, fallback); only on
  the questions that part finished (it may cover a prefix of the run).

and the analyses: drafts that agree on a wrong result, the escalation prompt compared on the
escalated questions, what the repair round changed, and the A/B arms (``<part>-<variant>``).
"""

from __future__ import annotations

import json
import statistics
from collections import Counter, defaultdict
from pathlib import Path
from typing import Any

from podium.experts.nl2sql.hardness import LEVELS, hardness

Row = dict[str, Any]  # one question's outcome for one strategy: correct, valid, large, seconds


def _read(path: Path) -> dict[int, Row]:
    if not path.is_file():
        return {}
    recs = [json.loads(line) for line in path.read_text().splitlines() if line.strip()]
    return {r["idx"]: r for r in recs if "gold_failed" not in r}


def _groups(drafts: list[Row]) -> list[list[int]]:
    """As ``cascade.groups``: drafts with rows grouped by result set, largest first."""
    by_key: dict[str, list[int]] = defaultdict(list)
    for i, a in enumerate(drafts):
        if a["rows"]:
            by_key[a["key"]].append(i)
    return sorted(by_key.values(), key=lambda g: (-len(g), g[0]))


def _secs(attempts: list[Row]) -> float:
    return sum(a["seconds"] for a in attempts)


def _alone(attempts: list[Row]) -> Row:
    a = attempts[0]
    return {"correct": a["correct"], "valid": a["status"] == "ok", "large": 0, "s": a["seconds"]}


def _vote(drafts: list[Row]) -> Row:
    ranked = _groups(drafts)
    if ranked:
        chosen = drafts[ranked[0][0]]
    else:
        chosen = next((a for a in drafts if a["status"] == "ok"), None)
    ok = chosen is not None
    return {"correct": ok and chosen["correct"], "valid": ok, "large": 0, "s": _secs(drafts)}


def _after_large(drafts: list[Row], large: list[Row]) -> Row:
    """``after_final`` on the large attempts (the first, then its repair), drafts as fallback."""
    chosen = None
    for a in large:
        if a["rows"]:
            chosen = a
            break
    if chosen is None:
        ranked = _groups(drafts)
        if ranked:
            chosen = drafts[ranked[0][0]]
        else:
            chosen = next((a for a in large[::-1] + drafts if a["status"] == "ok"), None)
    ok = chosen is not None
    return {
        "correct": ok and chosen["correct"],
        "valid": ok,
        "large": len(large),
        "s": _secs(drafts) + _secs(large),
    }


def _cascade(drafts: list[Row], large: list[Row], quorum: int) -> Row:
    ranked = _groups(drafts)
    if ranked and len(ranked[0]) >= quorum:
        chosen = drafts[ranked[0][0]]
        return {"correct": chosen["correct"], "valid": True, "large": 0, "s": _secs(drafts)}
    return _after_large(drafts, large)


def _dissent(drafts: list[Row], group: list[int]) -> bool:
    """Another draft returned other rows than the agreeing ``group`` (``cascade.dissenters``)."""
    key = drafts[group[0]]["key"]
    return any(a["rows"] and a["key"] != key for k, a in enumerate(drafts) if k not in group)


def _settled(drafts: list[Row], plurality: bool) -> int | None:
    """The agreeing group's first draft when two or more agree and no other draft disputes it
    (``plurality``: or the group is larger than every other), else None."""
    ranked = _groups(drafts)
    if not ranked or len(ranked[0]) < 2:
        return None
    if not _dissent(drafts, ranked[0]) or (
        plurality and all(len(g) < len(ranked[0]) for g in ranked[1:])
    ):
        return ranked[0][0]
    return None


def _with_more(
    drafts: list[Row], more: Row, large: list[Row], *, first: str, after: str | None
) -> Row:
    """A fourth draft when the first three do not settle it, then the 1.5B if that does not.

    ``first``: what settles the three (``undisputed``, or ``plurality``: any two agreeing, as
    ``full`` did); a disputed agreement (``undisputed``) goes to the 1.5B directly or to the
    fourth draft (``undisputed+more``). ``after``: what settles the four (None: no fourth)."""
    chosen = _settled(drafts, plurality=first == "plurality")
    if chosen is not None:
        return {"correct": drafts[chosen]["correct"], "valid": True, "large": 0, "s": _secs(drafts)}
    ranked = _groups(drafts)
    disputed = bool(ranked) and len(ranked[0]) >= 2
    if after is None or (disputed and first == "undisputed"):
        return _after_large(drafts, large)
    four = more["attempts"]
    chosen = _settled(four, plurality=after == "plurality")
    if chosen is not None:
        return {"correct": four[chosen]["correct"], "valid": True, "large": 0, "s": _secs(four)}
    return _after_large(four, large) | {"s": _secs(four) + _secs(large)}


def _escalated(drafts: list[Row], esc: Row) -> Row:
    return {
        "correct": esc["final_correct"],
        "valid": esc["final_origin"] is not None,
        "large": len(esc["attempts"]),
        "s": _secs(drafts) + _secs(esc["attempts"]),
    }


def strategies(run: Path) -> tuple[dict[str, dict[int, Row]], list[int]]:
    large, drafts, esc = (_read(run / f"{p}.jsonl") for p in ("large", "drafts", "escalate"))
    more = {i: r for i, r in _read(run / "more.jsonl").items() if "attempts" in r}
    more_done = set(_read(run / "more.jsonl"))
    common = [i for i in drafts if i in large and (not more_done or i in more_done)]
    out: dict[str, dict[int, Row]] = defaultdict(dict)
    for i in common:
        d, lg = drafts[i]["attempts"], large[i]["attempts"]
        out["0.5B alone"][i] = _alone(d)
        out["1.5B alone"][i] = _alone(lg) | {"large": 1}
        out["1.5B alone + its repair round (strongest single model)"][i] = _after_large([], lg)
        out["vote (3 drafts, no large)"][i] = _vote(d)
        out["full, any 2 agreeing (default until 2026-12-04)"][i] = _cascade(d, lg, 2)
        out["full, quorum 3"][i] = _cascade(d, lg, 3)
    arms = {  # name: (what settles three drafts, what settles four)
        "full (default): a disputed pair escalates": ("undisputed", None),
        "full + 4th draft": ("plurality", "plurality"),
        "full + 4th draft, disputed escalate (more_drafts=1)": ("undisputed", "plurality"),
        "full + 4th draft, only undisputed": ("undisputed", "undisputed"),
        "full + 4th draft also when disputed": ("undisputed+more", "plurality"),
    }
    for i in common:
        d, lg = drafts[i]["attempts"], large[i]["attempts"]
        for name, (first, after) in arms.items():
            if after is None or i in more_done:  # no `more` record: the three were undisputed
                out[name][i] = _with_more(d, more.get(i, {}), lg, first=first, after=after)
    for i in common:
        if i not in esc:
            continue
        d = drafts[i]["attempts"]
        agreed = drafts[i]["cascade"]["action"] == "agreed"
        few = _cascade(d, [], 2) if agreed else _escalated(d, esc[i])
        out["full, few-shot escalation (subset)"][i] = few
        out["full, any 2 agreeing, on that subset"][i] = out[
            "full, any 2 agreeing (default until 2026-12-04)"
        ][i]
    return out, common


def summary(rows: dict[int, Row], level: dict[int, str], base: float | None) -> str:
    n = len(rows)
    ex = sum(r["correct"] for r in rows.values()) / n
    by = []
    for lv in LEVELS:
        mine = [r for i, r in rows.items() if level[i] == lv]
        by.append(f"{sum(r['correct'] for r in mine) / len(mine):.3f}" if mine else "–")
    secs = sorted(r["s"] for r in rows.values())
    med = statistics.median(secs)
    ratio = f"{med / base:.2f}×" if base else "–"
    return (
        f"{n} | {ex:.3f} | {' | '.join(by)} | {sum(r['valid'] for r in rows.values()) / n:.3f} | "
        f"{sum(r['large'] > 0 for r in rows.values()) / n:.0%} | "
        f"{sum(r['large'] for r in rows.values()) / n:.2f} | {med:.1f} | "
        f"{secs[min(n - 1, int(0.95 * n))]:.1f} | {ratio}"
    )


def print_report(run: Path, data: Path) -> None:
    dev = json.loads((data / "dev.json").read_text())
    level = {i: hardness(q["query"]) for i, q in enumerate(dev)}
    table, common = strategies(run)
    print(f"questions every part finished: {len(common)} of {len(dev)}")
    counts = Counter(level[i] for i in common)
    print("hardness of these questions: " + ", ".join(f"{lv} {counts[lv]}" for lv in LEVELS))
    print(
        "\n| strategy | n | EX | easy | medium | hard | extra | valid SQL | large called "
        "| large calls/q | median s/q | p95 s/q | median vs 1.5B alone |"
    )
    print("|---|---|---|---|---|---|---|---|---|---|---|---|---|")
    base = statistics.median(r["s"] for r in table["1.5B alone"].values()) if common else None
    smol = _read(run / "smol.jsonl")
    if smol:
        rows = {i: _alone(r["attempts"]) | {"large": 1} for i, r in smol.items()}
        med = statistics.median(r["s"] for r in rows.values())
        print(f"| SmolLM2-135M alone (own sample) | {summary(rows, level, med)} |")
    for name, rows in table.items():
        print(f"| {name} | {summary(rows, level, base)} |")
    for part, name in (("large", "1.5B alone"), ("drafts", "0.5B alone"), ("smol", "SmolLM2")):
        recs = _read(run / f"{part}.jsonl")
        if recs:
            right = sum(r["attempts"][0]["correct"] for r in recs.values())
            print(f"- {name} on every question its part finished: {right}/{len(recs)}")
    if common:
        analyses(run, common, level)


def analyses(run: Path, common: list[int], level: dict[int, str]) -> None:
    large, drafts, esc = (_read(run / f"{p}.jsonl") for p in ("large", "drafts", "escalate"))
    zs = {i: large[i]["attempts"][0]["correct"] for i in common}
    print("\n**Drafts that agree (quorum 2):**")
    for size in (2, 3):
        agreed = [i for i in common if drafts[i]["cascade"]["agreement"] == size]
        agreed = [i for i in agreed if drafts[i]["cascade"]["action"] == "agreed"]
        if not agreed:
            continue
        chosen = {
            i: drafts[i]["attempts"][drafts[i]["cascade"]["chosen"]]["correct"] for i in agreed
        }
        wrong = [i for i in agreed if not chosen[i]]
        rescued = sum(zs[i] for i in wrong)
        lost = sum(chosen[i] and not zs[i] for i in agreed)
        print(
            f"- {size} of 3 agree: {len(agreed)} questions, {len(wrong)} wrong "
            f"({len(wrong) / len(agreed):.0%}); the 1.5B model alone is right on {rescued} of "
            f"the wrong ones and wrong on {lost} the drafts got right"
        )
    escalated = [i for i in common if drafts[i]["cascade"]["action"] != "agreed" and i in esc]
    if escalated:
        few = sum(esc[i]["attempts"][0]["correct"] for i in escalated)
        zero = sum(zs[i] for i in escalated)
        print(
            f"\n**Escalated questions ({len(escalated)}):** the large model's first query right "
            f"with the few-shot prompt (4 examples chosen by question and draft skeleton) {few}, "
            f"with the zero-shot prompt {zero}"
        )
    repaired = [
        part[i]["attempts"]
        for part in (large, esc)
        for i in common
        if i in part and len(part[i].get("attempts", [])) > 1
    ]
    fixed = sum(not a[0]["correct"] and a[-1]["correct"] for a in repaired)
    broke = sum(a[0]["correct"] and not a[-1]["correct"] for a in repaired)
    print(
        f"\n**Repair rounds:** {len(repaired)} ran (1.5B zero-shot and the few-shot escalation "
        f"together); {fixed} turned a wrong answer right, {broke} a right one wrong"
    )
    print("\n**Per database (EX):**")
    table, _ = strategies(run)
    names = [s for s in table if len(table[s]) == len(common)]  # not the subset arms
    print("| database | n | " + " | ".join(names) + " |")
    print("|---|---|" + "---|" * len(names))
    dbs = sorted({drafts[i]["db_id"] for i in common})
    for db in dbs:
        ids = [i for i in common if drafts[i]["db_id"] == db]
        cells = " | ".join(
            f"{sum(table[s][i]['correct'] for i in ids) / len(ids):.2f}" for s in names
        )
        print(f"| {db} | {len(ids)} | {cells} |")
    arms = sorted(run.glob("*-*.jsonl"))
    for k, arm in enumerate(arms):  # A/B arms of one part, each pair on its shared questions
        for other_arm in arms[k + 1 :]:
            if arm.stem.split("-")[0] != other_arm.stem.split("-")[0]:
                continue
            a_recs, b_recs = _read(arm), _read(other_arm)
            both = [i for i in a_recs if i in b_recs]
            a = sum(a_recs[i]["attempts"][0]["correct"] for i in both)
            b = sum(b_recs[i]["attempts"][0]["correct"] for i in both)
            print(
                f"\n**A/B `{arm.stem}` vs `{other_arm.stem}`** on the same {len(both)} "
                f"questions: {a} vs {b} right"
            )
