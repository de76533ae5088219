"""What the retrieval expert returns on the demo's document questions: top 3 and confidence.

    PYTHONPATH=. python benchmarks/retrieval_demo.py [--home DIR] [--expand auto] [--json]

The questions are the retrieval parts of the demo tasks in benchmarks/data/planning_dev.jsonl
(a task asking two things is cut at its "and" by hand, as the planner would send it). The demo
workspace is materialised under ``--home`` (a fresh temporary folder by default), so its store
is built by the code being measured. A question is answered when its top passage holds the
expected words and the confidence reaches the synthesizer's floor. ``--expand`` sets the
expert's query-expansion policy (the ladder's large model writes a passage for the query).
"""

from __future__ import annotations

import argparse
import json
import tempfile
from pathlib import Path

from podium.experts.base import ExpertContext
from podium.experts.retrieval import RetrievalExpert, RetrievalRequest
from podium.memory.documents import search
from podium.models.provider import ModelProvider
from podium.orchestrator.synthesizer import CONFIDENCE_FLOOR
from podium.workspace import demo_workspace

# (task id, the retrieval question, words the answer's passage must hold)
QUESTIONS = [
    ("p02", "What is the return policy for damaged items?", "damaged"),
    ("p05", "How long does standard delivery within the EU take?", "2 to 4 business days"),
    ("p06", "How many Trailpoints does a customer earn per euro?", "one Trailpoint"),
    ("p08", "How much does express delivery cost?", "12.95 EUR"),
    ("p11", "What does the warranty not cover?", "does not cover"),
    ("p12", "When do Trailpoints expire?", "expire 24 months"),
    ("p14", "What is the warranty on Summit tents?", "five-year"),
    ("p14", "Is it true that returns are free?", "return"),
    ("p16", "What are customer support's opening hours?", "08:00 to"),
    ("p18", "Do you ship to Canada?", "Canada"),
    ("p20", "How do I make a warranty claim?", "make a claim"),
    ("p21", "What is the Gold tier?", "Gold tier"),
    ("p32", "Find what our documents say about repairs of returned gear.", "repair returned gear"),
    ("p34", "What happens to Trailpoints when an order is returned?", "Returned orders"),
]


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--home", type=Path, default=None)
    parser.add_argument("--json", action="store_true")
    parser.add_argument(
        "--sentence-weight", type=float, default=None, help="the store's SENTENCE_WEIGHT"
    )
    parser.add_argument("--expand", choices=["none", "large", "auto"], default="none")
    args = parser.parse_args()
    if args.sentence_weight is not None:
        search.SENTENCE_WEIGHT = args.sentence_weight
    with tempfile.TemporaryDirectory(prefix="podium-demo-") as tmp:
        ws = demo_workspace(args.home or Path(tmp))
        ctx = ExpertContext(workspace=ws, models=ModelProvider({"embeddings": "local:minilm"}))
        expert = RetrievalExpert(expand=args.expand)
        rows = []
        for task, question, expected in QUESTIONS:
            result = expert.run(RetrievalRequest(query=question), ctx)
            top = [
                {"source": Path(p["source"]).name, "title": p["title"], "text": p["text"][:90]}
                for p in result.output
            ]
            found = bool(result.output) and expected.lower() in result.output[0]["text"].lower()
            rows.append(
                {
                    "task": task,
                    "question": question,
                    "confidence": result.confidence,
                    "answered": found and result.confidence >= CONFIDENCE_FLOOR,
                    "expanded_with": result.details.get("expanded_with"),
                    "top": top,
                }
            )
    if args.json:
        print(json.dumps(rows, indent=1))
        return
    for row in rows:
        mark = "ok " if row["answered"] else "NO "
        print(f"{mark}{row['confidence']:.2f}  {row['task']} {row['question']}")
        if row["expanded_with"]:
            print(f"        expanded with: {row['expanded_with'][:110]}")
        for hit in row["top"]:
            print(f"        {hit['source']:<12} {hit['title'][:28]:<28} {hit['text']}")
    print(f"answered {sum(r['answered'] for r in rows)} / {len(rows)}")


if __name__ == "__main__":
    main()
