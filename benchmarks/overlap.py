"""Do two llama.cpp contexts on one thread each beat one context on every core?

    python benchmarks/overlap.py [--model qwen2.5-coder-0.5b] [--calls 4] [--rounds 3] [--json]

Podium serialises the calls to a loaded model (a llama.cpp context is not thread-safe), so
independent steps that each call the same model (NL2SQL's drafts, two concurrent runs) queue
on it. The alternative is a second context over the same GGUF (the weights are memory-mapped,
so the file's pages are shared; each context adds its KV cache and compute buffers), each
decoding on one core. This measures that choice on draft-shaped calls (one schema-sized
prompt, ~60 tokens out, greedy) in one process, interleaving the two arms round by round:

* ``serial``: ``--calls`` calls one after another on one context with every core;
* ``two_contexts``: the same calls split over two contexts of one thread each, two at a time
  in two threads.

The figure is the ratio of wall-clock times (``two_contexts / serial``; below 1 means the
overlap pays), with each arm's min/median/max and the extra anonymous memory (KV cache and
buffers; the mapped weights are shared) of the two one-thread contexts. On a shared
machine only the ratio is meaningful.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import time
from concurrent.futures import ThreadPoolExecutor
from typing import Any

PROMPT = (
    "CREATE TABLE customers (id INTEGER PRIMARY KEY, name TEXT, email TEXT, country TEXT, "
    "city TEXT, signup_date DATE, segment TEXT);\nCREATE TABLE orders (id INTEGER PRIMARY "
    "KEY, customer_id INTEGER REFERENCES customers(id), order_date DATE, status TEXT, total "
    "REAL);\nCREATE TABLE products (id INTEGER PRIMARY KEY, name TEXT, category TEXT, price "
    "REAL, stock INTEGER);\nCREATE TABLE order_items (id INTEGER PRIMARY KEY, order_id "
    "INTEGER REFERENCES orders(id), product_id INTEGER REFERENCES products(id), quantity "
    "INTEGER, unit_price REAL);\n\nQuestion: {q}\nSQL:"
)
QUESTIONS = [
    "Which 5 customers spent the most?",
    "How many orders were placed in 2024?",
    "What is the average order value per country?",
    "Which product category has the most revenue?",
    "How many gold customers live in Germany?",
    "Which products are out of stock?",
]


def _anon_mb() -> float:
    """Anonymous memory (KV caches, compute buffers); the memory-mapped weights are file pages
    shared by every context over the same file, so they are left out."""
    with open("/proc/self/smaps_rollup", encoding="ascii") as rollup:
        for line in rollup:
            if line.startswith("Anonymous:"):
                return int(line.split()[1]) / 1024
    return float("nan")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--model", default="qwen2.5-coder-0.5b")
    parser.add_argument("--calls", type=int, default=4)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--max-tokens", type=int, default=60)
    parser.add_argument("--json", action="store_true")
    args = parser.parse_args()

    from podium.models.catalog import card
    from podium.models.files import model_path
    from podium.models.local_llama import _LoadedModel  # loaded exactly as Podium loads

    path = model_path(card(args.model))
    cores = os.cpu_count() or 1
    before = _anon_mb()
    one = _LoadedModel(path, 2048, cores).llama
    after_one = _anon_mb()
    pair = [_LoadedModel(path, 2048, 1).llama for _ in range(2)]
    after_pair = _anon_mb()
    prompts = [PROMPT.format(q=QUESTIONS[i % len(QUESTIONS)]) for i in range(args.calls)]

    def call(llm: Any, prompt: str) -> int:
        llm.reset()  # no prefix reuse between calls in either arm: the same work each time
        out = llm(prompt, max_tokens=args.max_tokens, temperature=0.0, stop=["\n\n", ";"])
        return int(out["usage"]["completion_tokens"])

    def serial() -> int:
        return sum(call(one, p) for p in prompts)

    def two_contexts() -> int:
        halves = [prompts[0::2], prompts[1::2]]
        with ThreadPoolExecutor(2) as pool:
            done = pool.map(lambda k: sum(call(pair[k], p) for p in halves[k]), range(2))
            return sum(done)

    serial()  # warm-up of both arms (first touch of the mapped weights), not counted
    two_contexts()
    times: dict[str, list[float]] = {"serial": [], "two_contexts": []}
    tokens: dict[str, int] = {}
    for _ in range(args.rounds):
        for name, arm in (("serial", serial), ("two_contexts", two_contexts)):
            start = time.perf_counter()
            tokens[name] = arm()
            times[name].append(time.perf_counter() - start)
    result = {
        "model": args.model,
        "cores": cores,
        "calls": args.calls,
        "rounds": args.rounds,
        "tokens_out": tokens,
        "seconds": {
            k: {"min": min(v), "median": statistics.median(v), "max": max(v)}
            for k, v in times.items()
        },
        "ratio_two_contexts_vs_serial": round(
            statistics.median(times["two_contexts"]) / statistics.median(times["serial"]), 3
        ),
        "anonymous_mb": {
            "one_context": round(after_one - before, 1),
            "two_more_contexts": round(after_pair - after_one, 1),
        },
        "load_average": os.getloadavg(),
    }
    if args.json:
        print(json.dumps(result, indent=2))
        return
    for k, v in result["seconds"].items():
        print(f"{k:>13}: {v['min']:.2f} / {v['median']:.2f} / {v['max']:.2f} s (min/median/max)")
    print(f"ratio two contexts / serial: {result['ratio_two_contexts_vs_serial']}")
    print(f"anonymous memory: {result['anonymous_mb']}  load: {result['load_average']}")


if __name__ == "__main__":
    main()
