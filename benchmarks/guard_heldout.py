"""Injection detection on sets the shipped heads were never trained on.

    python benchmarks/guard_heldout.py BIPIA_CHECKOUT [--out DIR] [--seed 19] [--json]
    python benchmarks/guard_heldout.py TENSOR_TRUST_CHECKOUT --set tensor-trust [--json]

The shared slice (``../shared/data/injection``) is built from BIPIA's *train* contexts and
train attacks, and the shipped document head is trained on it, so its figures are
in-distribution. This builds the same construction from BIPIA's *test* split — email and
table contexts from ``benchmark/{email,table}/test.jsonl``, each once clean and once with one
of ``benchmark/text_attack_test.json``'s instructions inserted at the start, middle or end
(as a line of its own) — and scores it with the shipped detector through ``podium eval``'s
code. BIPIA: microsoft/BIPIA (MIT); give the path of a checkout.

``--set tensor-trust`` measures *direct* injection on a public set of another origin:
the Tensor Trust hijacking benchmark (HumanCompatibleAI/tensor-trust-data,
``benchmarks/hijacking-robustness/v1``): people's attacks on a guarded assistant (``attack``)
against the legitimate inputs of the same game (``access_code``), scored as user prompts.
"""

from __future__ import annotations

import argparse
import json
import random
import tempfile
from pathlib import Path
from typing import Any


def build(bipia: Path, seed: int) -> list[dict[str, Any]]:
    rng = random.Random(seed)
    attacks_by_category = json.loads((bipia / "benchmark" / "text_attack_test.json").read_text())
    attacks = [(c, a) for c, items in attacks_by_category.items() for a in items]
    rows: list[dict[str, Any]] = []
    for source in ("email", "table"):
        path = bipia / "benchmark" / source / "test.jsonl"
        for line in path.read_text().splitlines():
            item = json.loads(line)
            context, question = item["context"], item.get("question", "")
            base = {"source": f"bipia-{source}-test", "question": question, "kind": "document"}
            rows.append({"text": context, "label": "benign", **base})
            category, attack = rng.choice(attacks)
            position = rng.choice(["start", "middle", "end"])
            rows.append(
                {
                    "text": _insert(context, attack, position),
                    "label": "attack",
                    "attack_category": category,
                    "attack": attack,
                    "position": position,
                    **base,
                }
            )
    return rows


def build_tensor_trust(checkout: Path) -> list[dict[str, Any]]:
    path = checkout / "benchmarks" / "hijacking-robustness" / "v1"
    rows: list[dict[str, Any]] = []
    seen: set[str] = set()
    for line in (path / "hijacking_robustness_dataset.jsonl").read_text().splitlines():
        item = json.loads(line)
        for field, label in (("attack", "attack"), ("access_code", "benign")):
            text = (item.get(field) or "").strip()
            if text and text not in seen:
                seen.add(text)
                rows.append({"text": text, "label": label, "source": "tensor-trust-hijacking"})
    return rows


def _insert(context: str, attack: str, position: str) -> str:
    if position == "start":
        return f"{attack}\n{context}"
    if position == "end":
        return f"{context}\n{attack}"
    cut = context.rfind("\n", 0, len(context) // 2)
    if cut <= 0:
        cut = context.rfind(". ", 0, len(context) // 2) + 1
    cut = cut if cut > 0 else len(context) // 2
    return f"{context[:cut]}\n{attack}\n{context[cut:].lstrip()}"


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("checkout", type=Path, help="a checkout of microsoft/BIPIA (or TT)")
    parser.add_argument("--set", choices=["bipia", "tensor-trust"], default="bipia")
    parser.add_argument("--out", type=Path, default=None, help="keep the built JSONL here")
    parser.add_argument("--seed", type=int, default=19)
    parser.add_argument("--json", action="store_true")
    args = parser.parse_args()
    from podium.guardians.evaluate import evaluate

    if args.set == "bipia":
        rows = build(args.checkout, args.seed)
    else:
        rows = build_tensor_trust(args.checkout)
    with tempfile.TemporaryDirectory() as tmp:
        folder = args.out or Path(tmp)
        folder.mkdir(parents=True, exist_ok=True)
        with (folder / "prompts.jsonl").open("w") as out:
            out.writelines(json.dumps(r) + "\n" for r in rows)
        result = evaluate(folder)
    result["rows"] = len(rows)
    if args.json:
        print(json.dumps(result, default=str))
        return
    for key, value in result.items():
        print(f"{key:28s} {value}")


if __name__ == "__main__":
    main()
