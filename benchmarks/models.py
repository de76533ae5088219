"""Each offline chat model's load time, prompt and decode speed and peak memory; the default
stack's cold start and peak memory.

    python benchmarks/models.py [--json]

Every measurement runs in a fresh subprocess, so peak RSS is that model's alone (the stack
row loads both Qwen models and MiniLM together, as a server with the ladder does). Speed:
a fixed ~480-token chat prompt answered with one token (prompt tokens/s), then up to 96 greedy
tokens (decode tokens/s = tokens after the first / (total time − prompt time)); median of 3, each
with a different prompt prefix so llama.cpp cannot reuse the previous prompt's KV state.
Ratios are against SmolLM2-135M measured in the same run.
"""

from __future__ import annotations

import argparse
import json
import statistics
import subprocess
import sys
import time

MODELS = ("local:smollm2", "local:qwen2.5-coder-0.5b", "local:qwen2.5-coder-1.5b")
FILLER = (
    "Podium Outfitters sells tents, backpacks, footwear, clothing, climbing gear and camp "
    "kitchen equipment from a warehouse in Rotterdam to customers across Europe and North "
    "America. "
)


def measure_model(uri: str) -> dict[str, float]:
    """Runs inside the child process."""
    import resource

    from podium.models.provider import create_chat_model

    start = time.perf_counter()
    model = create_chat_model(uri)
    load_s = time.perf_counter() - start
    llama = model.loaded.llama  # type: ignore[attr-defined]
    prompt_rates, decode_rates = [], []
    for i in range(3):
        messages = [
            {"role": "user", "content": f"Note {i}: " + FILLER * 16 + "\nSummarise the note."}
        ]
        llama.reset()
        t0 = time.perf_counter()
        first = llama.create_chat_completion(messages=messages, max_tokens=1, temperature=0.0)
        t_prompt = time.perf_counter() - t0
        llama.reset()
        t0 = time.perf_counter()
        out = llama.create_chat_completion(messages=messages, max_tokens=96, temperature=0.0)
        t_all = time.perf_counter() - t0
        generated = out["usage"]["completion_tokens"]
        prompt_rates.append(first["usage"]["prompt_tokens"] / t_prompt)
        decode_rates.append((generated - 1) / max(t_all - t_prompt, 1e-6))
    return {
        "load_s": load_s,
        "prompt_tok_s": statistics.median(prompt_rates),
        "decode_tok_s": statistics.median(decode_rates),
        "peak_rss_gb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1e6,
    }


def measure_stack() -> dict[str, float]:
    """Cold start of the default ladder stack: both Qwen models and MiniLM loaded, one call
    each (what a server holds after its first answer)."""
    import resource

    from langchain_core.messages import HumanMessage

    from podium.models.provider import ModelProvider

    start = time.perf_counter()
    provider = ModelProvider()
    provider.embedder().encode(["warm up"])
    for role in ("planner", "small"):
        provider.chat(role=role).invoke([HumanMessage("Say OK.")], max_tokens=4)
    return {
        "cold_start_s": time.perf_counter() - start,
        "peak_rss_gb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1e6,
        "roles": {r: provider.label(role=r) for r in ("planner", "small")},  # type: ignore[dict-item]
    }


def measure_concurrency(uri: str = "local:qwen2.5-coder-0.5b", n: int = 4) -> dict[str, float]:
    """``n`` questions from ``n`` threads on the one shared copy vs the same questions one
    after another: the lock serialises them, so the ratio says what sharing costs (or saves)
    against a single caller, with one copy of the weights in memory."""
    import resource
    from concurrent.futures import ThreadPoolExecutor

    from langchain_core.messages import HumanMessage

    from podium.models.provider import ModelProvider

    model = ModelProvider().base_chat(uri)
    questions = [
        [HumanMessage(f"Name {k + 2} European capitals, comma-separated.")] for k in range(n)
    ]
    model.invoke(questions[0], max_tokens=8)  # load and warm up
    sequential, concurrent = [], []
    for _ in range(3):
        t0 = time.perf_counter()
        for q in questions:
            model.invoke(q, max_tokens=48)
        sequential.append(time.perf_counter() - t0)
        t0 = time.perf_counter()
        with ThreadPoolExecutor(n) as pool:
            list(pool.map(lambda q: model.invoke(q, max_tokens=48), questions))
        concurrent.append(time.perf_counter() - t0)
    ratios = sorted(c / s for c, s in zip(concurrent, sequential, strict=True))
    return {
        "sequential_s": statistics.median(sequential),
        "concurrent_s": statistics.median(concurrent),
        "ratio": ratios[1],
        "peak_rss_gb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1e6,
    }


def _child(what: str) -> dict[str, float]:
    call = {"stack": "m.measure_stack()", "concurrency": "m.measure_concurrency()"}.get(
        what, f"m.measure_model({what!r})"
    )
    code = (
        "import json, sys; sys.path.insert(0, 'benchmarks'); import models as m; "
        f"print(json.dumps({call}))"
    )
    out = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True, timeout=900
    )
    return json.loads(out.stdout.strip().splitlines()[-1])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--json", action="store_true")
    args = parser.parse_args()
    rows = {uri: _child(uri) for uri in MODELS}
    stack = _child("stack")
    shared = _child("concurrency")
    base = rows["local:smollm2"]
    if args.json:
        print(json.dumps({"models": rows, "stack": stack, "concurrency": shared}, indent=1))
        return
    print("| model | load s | prompt tok/s | decode tok/s | decode ÷ SmolLM2 | peak RSS GB |")
    print("|---|---|---|---|---|---|")
    for uri, r in rows.items():
        print(
            f"| {uri} | {r['load_s']:.2f} | {r['prompt_tok_s']:.0f} | {r['decode_tok_s']:.1f} | "
            f"{r['decode_tok_s'] / base['decode_tok_s']:.2f} | {r['peak_rss_gb']:.2f} |"
        )
    print(
        f"\nstack ({stack['roles']}): cold start {stack['cold_start_s']:.1f} s, "
        f"peak RSS {stack['peak_rss_gb']:.2f} GB"
    )
    print(
        f"4 questions on the one shared 0.5B copy: sequential {shared['sequential_s']:.1f} s, "
        f"from 4 threads {shared['concurrent_s']:.1f} s (ratio {shared['ratio']:.2f})"
    )


if __name__ == "__main__":
    main()
