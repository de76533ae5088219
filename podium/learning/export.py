"""Verified examples as chat-format training records, for fine-tuning a small model elsewhere
(TRL's ``SFTTrainer`` and most fine-tuning tools read this shape):

    {"messages": [{"role": "system", ...}, {"role": "user", ...},
                  {"role": "assistant", ...}],
     "metadata": {"expert", "run_id", "step_id", "voucher", "provenance": [...]}}

For NL2SQL the system and user messages are the expert's own zero-shot prompt (the schema and
the question), the assistant message the verified SQL, so a model fine-tuned on them is asked
the same way at run time (plug it in as ``local:/path/model.gguf``).
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any

from podium.workspace import Workspace

from .examples import Example


def records(examples: list[Example], workspace: Workspace) -> Iterator[dict[str, Any]]:
    for e in examples:
        yield {"messages": messages(e, workspace), "metadata": metadata(e)}


def messages(e: Example, workspace: Workspace) -> list[dict[str, str]]:
    if e.expert == "nl2sql" and e.sql:
        from podium.experts.nl2sql import prompts
        from podium.tools.sql import open_database

        db = open_database(workspace.database_url(e.source or None))
        prompt = prompts.ask(db, prompts.schema_text(db, None, 8000), e.input)
        return [
            {"role": "system", "content": str(prompt[0].content)},
            {"role": "user", "content": str(prompt[1].content)},
            {"role": "assistant", "content": e.sql},
        ]
    output = e.output if isinstance(e.output, str) else json.dumps(e.output, default=str)
    return [
        {"role": "system", "content": f"You are Podium's {e.expert} expert."},
        {"role": "user", "content": e.input},
        {"role": "assistant", "content": output},
    ]


def metadata(e: Example) -> dict[str, Any]:
    return {
        "expert": e.expert,
        "source": e.source,
        "run_id": e.run_id,
        "step_id": e.step_id,
        "voucher": e.voucher,
        "provenance": e.provenance,
    }
