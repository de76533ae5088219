"""Multi-turn conversations over the demo workspace, through the OpenAI-compatible API.

    podium serve --port 8711 &            # the demo workspace, real models
    python benchmarks/conversations.py --url http://127.0.0.1:8711 [--limit N] [--json]

Each exchange of ``benchmarks/data/conversations.jsonl`` is sent as a client of
``/v1/chat/completions`` sends a chat: the first question alone, then every follow-up with the
whole message history before it (the user's turns and the answers the server gave). A turn is
answered correctly when its answer carries every expected number (as written, or rounded to the
precision the answer uses), every expected phrase, or — for a request to change data — a
refusal. The expected answers were read from the demo database (``podium/demo/shop.py``, fixed
seed) and its documents. Reported: the share of turns, of follow-up turns and of whole
exchanges answered correctly, and the seconds per turn (wall clock on a shared machine).
"""

from __future__ import annotations

import argparse
import json
import re
import statistics
import sys
import time
from pathlib import Path
from typing import Any

import httpx

DATA = Path(__file__).resolve().parent / "data" / "conversations.jsonl"
_NUMBER = re.compile(r"(?<![\w.])-?\d[\d,]*(?:\.\d+)?")
_REFUSAL = re.compile(
    r"\b(can(?:no|')t|cannot|can not|unable|only reads?|read-only|not allowed|won't)\b", re.I
)


def load(path: Path = DATA) -> list[dict[str, Any]]:
    return [json.loads(line) for line in path.read_text().splitlines() if line.strip()]


def numbers_in(text: str) -> list[str]:
    return [n.replace(",", "") for n in _NUMBER.findall(text)]


def carries(answer: str, expected: float) -> bool:
    """Whether ``answer`` states ``expected``: exactly, or rounded to the answer's precision."""
    for raw in numbers_in(answer):
        try:
            value = float(raw)
        except ValueError:
            continue
        places = len(raw.split(".", 1)[1]) if "." in raw else 0
        if abs(value - round(expected, places)) < 1e-9:
            return True
    return False


def correct(answer: str, expect: dict[str, Any]) -> bool:
    if expect.get("refusal"):
        return bool(_REFUSAL.search(answer))
    ok = all(carries(answer, float(n)) for n in expect.get("numbers", []))
    return ok and all(t.lower() in answer.lower() for t in expect.get("text", []))


def run_exchange(client: httpx.Client, exchange: dict[str, Any]) -> list[dict[str, Any]]:
    messages: list[dict[str, str]] = []
    turns = []
    for n, turn in enumerate(exchange["turns"]):
        messages.append({"role": "user", "content": turn["user"]})
        start = time.perf_counter()
        res = client.post("/v1/chat/completions", json={"model": "podium", "messages": messages})
        seconds = time.perf_counter() - start
        body = res.json()
        if res.status_code == 200:
            answer = body["choices"][0]["message"]["content"] or ""
            steps = [s.get("input") for s in body.get("podium", {}).get("steps", [])]
        else:
            answer, steps = f"(HTTP {res.status_code}: {body.get('error', {}).get('message')})", []
        messages.append({"role": "assistant", "content": answer})
        turns.append(
            {
                "exchange": exchange["id"],
                "turn": n,
                "question": turn["user"],
                "answer": answer,
                "step_inputs": steps,
                "correct": correct(answer, turn["expect"]),
                "seconds": round(seconds, 1),
            }
        )
    return turns


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--url", default="http://127.0.0.1:8700")
    parser.add_argument("--data", type=Path, default=DATA)
    parser.add_argument("--limit", type=int, default=0, help="only the first N exchanges")
    parser.add_argument(
        "--only", default="", help="only these exchanges (comma-separated ids), e.g. to recheck"
    )
    parser.add_argument("--token", default="unused")
    parser.add_argument("--json", action="store_true", help="print every turn as JSON")
    parser.add_argument(
        "--out", type=Path, help="append each turn to this JSONL file as it is answered"
    )
    args = parser.parse_args()
    exchanges = load(args.data)[: args.limit or None]
    if args.only:
        wanted = set(args.only.split(","))
        exchanges = [e for e in exchanges if e["id"] in wanted]
        if missing := wanted - {e["id"] for e in exchanges}:
            parser.error(f"no exchange with id {', '.join(sorted(missing))}")
    headers = {"Authorization": f"Bearer {args.token}"}
    turns: list[dict[str, Any]] = []
    with httpx.Client(base_url=args.url, timeout=900, headers=headers) as client:
        for exchange in exchanges:
            done = run_exchange(client, exchange)
            turns += done
            for t in done:
                if args.out:
                    with args.out.open("a") as out:
                        out.write(json.dumps(t) + "\n")
                mark = "ok " if t["correct"] else "BAD"
                print(
                    f"{mark} {t['seconds']:6.1f}s {t['question']!r} -> {t['answer'][:120]!r}",
                    file=sys.stderr,
                    flush=True,
                )
    follow = [t for t in turns if t["turn"] > 0]
    whole = {
        e["id"]: all(t["correct"] for t in turns if t["exchange"] == e["id"]) for e in exchanges
    }
    summary = {
        "exchanges": len(exchanges),
        "turns": len(turns),
        "turns_correct": round(sum(t["correct"] for t in turns) / len(turns), 3),
        "follow_ups_correct": round(sum(t["correct"] for t in follow) / max(1, len(follow)), 3),
        "exchanges_correct": round(sum(whole.values()) / len(whole), 3),
        "median_seconds_per_turn": statistics.median(t["seconds"] for t in turns),
    }
    print(json.dumps({"summary": summary, "turns": turns} if args.json else summary, indent=2))


if __name__ == "__main__":
    main()
