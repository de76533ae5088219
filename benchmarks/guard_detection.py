"""Detection figures of the attack classifier on the guard and injection slices.

    python benchmarks/guard_detection.py [--data ../shared/data] [--json]

Three rows per slice, all measured here:
- Podium, out of fold: the heads re-trained in 5 grouped folds (``podium train guard``'s own
  protocol, written to a temporary file, the shipped weights are not touched): the honest
  estimate, since the shipped heads were fit on these slices.
- Podium, shipped weights: in-sample on these slices (an upper bound, for reference).
- prompt-guardrail alone (the first layer, TF-IDF + LR), whole text.
Published figures of Prompt Guard and Llama Guard are printed beside them (different test
sets: indicative only).
"""

from __future__ import annotations

import argparse
import json
import sys
import tempfile
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from podium.guardians.classifier import guardify_scores  # noqa: E402
from podium.guardians.evaluate import evaluate  # noqa: E402
from podium.guardians.metrics import detection_metrics  # noqa: E402
from podium.guardians.train import read_jsonl, train  # noqa: E402

PUBLISHED = [
    # meta-llama/PurpleLlama, Prompt-Guard/MODEL_CARD.md ("Model Performance" table)
    ("Prompt Guard 86M, in-distribution jailbreaks", "TPR 99.9 % at FPR 0.4 %, AUC 0.997"),
    ("Prompt Guard 86M, OOD jailbreak set", "TPR 97.5 % at FPR 3.9 %, AUC 0.975"),
    ("Prompt Guard 86M, CyberSecEval indirect injections", "TPR 71.4 % at FPR 1.0 %, AUC 0.966"),
    # meta-llama/PurpleLlama, Llama-Guard3/8B/MODEL_CARD.md (internal English test set)
    ("Llama Guard 3 8B, response classification", "F1 0.939, AUPRC 0.985, FPR 4.0 %"),
]


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--data", type=Path, default=ROOT.parent / "shared" / "data")
    parser.add_argument("--json", action="store_true")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        meta = train(args.data, Path(tmp) / "head.npz")
    out: dict[str, dict[str, object]] = {}
    for head, folder in (("prompt", "guard"), ("document", "injection")):
        rows = read_jsonl(args.data / folder / "prompts.jsonl")
        y = np.array([int(r["label"] == "attack") for r in rows])
        base = guardify_scores([r["text"] for r in rows])
        shipped = evaluate(args.data / folder)
        out[folder] = {
            "podium_out_of_fold": meta[head]["cv"],
            "podium_shipped_in_sample": {
                k: shipped[k] for k in ("auroc", "tpr_at_1pct_fpr", "benign_fpr", "tpr", "n")
            },
            "ms_per_text": shipped["ms_per_text"],
            "prompt_guardrail_alone": detection_metrics(y, base, 0.5),
        }
    if args.json:
        print(json.dumps({"ours": out, "published": PUBLISHED}))
        return
    for folder, rows in out.items():
        print(f"\n{folder}  (ms per text with the shipped heads: {rows['ms_per_text']})")
        for name in ("podium_out_of_fold", "podium_shipped_in_sample", "prompt_guardrail_alone"):
            m = rows[name]
            print(
                f"  {name:26s} AUROC {m['auroc']}  TPR@1%FPR {m['tpr_at_1pct_fpr']}"
                + (f"  benign FPR {m['benign_fpr']}  TPR {m['tpr']}" if "benign_fpr" in m else "")
            )
    print("\npublished (other test sets):")
    for name, fig in PUBLISHED:
        print(f"  {name:52s} {fig}")


if __name__ == "__main__":
    main()
