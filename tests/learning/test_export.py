"""``podium export examples``: chat-format JSONL a fine-tuning tool reads as it is."""

from __future__ import annotations

import json
import os
from pathlib import Path

import pytest
from typer.testing import CliRunner

from podium import ExpertResult, Podium, expert
from podium.cli import app
from podium.learning import ExampleStore
from podium.workspace import Workspace

from ..scripted import RuleChatModel, plan_json

SQL = "SELECT count(*) FROM singer"


@expert(name="nl2sql")
def fixed_sql(text: str) -> ExpertResult:
    """Answers questions about the singers database with SQL."""
    return ExpertResult(
        output={"sql": SQL, "columns": ["count(*)"], "rows": [[6]], "row_count": 1},
        summary="count(*): 6",
        confidence=0.9,
    )


def _exported(tmp_path: Path, shared_data: Path) -> list[dict]:
    db = shared_data / "spider" / "database" / "concert_singer" / "concert_singer.sqlite"
    ws = Workspace.init(tmp_path / "ws", databases=[f"sqlite:///{db}"], guardians=False)

    def rule(messages: list) -> str:
        if str(messages[0].content).startswith("You are the planner"):
            return plan_json(("s1", "nl2sql", "How many singers do we have?"))
        return "Six."

    podium = Podium(
        planner=RuleChatModel(rule=rule),
        experts=[fixed_sql],
        workspace=ws,
        builtins=False,
        plugins=False,
        warmup=False,
        semantic_check=False,
    )
    run = podium.run("How many singers do we have?")
    ExampleStore(podium.store).feedback(run.run_id, "s1", "good")
    res = CliRunner().invoke(
        app, ["export", "examples", "--expert", "nl2sql", "--workspace", str(ws.root)]
    )
    assert res.exit_code == 0, res.output
    assert "1 nl2sql example(s) exported" in res.stderr
    return [json.loads(line) for line in res.stdout.splitlines()]


def test_the_export_is_one_chat_record_per_example_with_its_provenance(
    tmp_path: Path, shared_data: Path
) -> None:
    [record] = _exported(tmp_path, shared_data)
    roles = [m["role"] for m in record["messages"]]
    assert roles == ["system", "user", "assistant"]
    system, user, assistant = (m["content"] for m in record["messages"])
    assert "SQLite" in system and "SELECT query" in system
    assert "CREATE TABLE" in user and "singer" in user
    assert user.endswith("Question: How many singers do we have?\nSQL:")
    assert assistant == SQL
    meta = record["metadata"]
    assert (meta["expert"], meta["step_id"], meta["voucher"]) == ("nl2sql", "s1", "feedback")
    assert [p["kind"] for p in meta["provenance"]] == ["feedback"]


@pytest.mark.slow
def test_the_export_renders_with_the_small_models_own_chat_template(
    tmp_path: Path, shared_data: Path
) -> None:
    import llama_cpp
    from llama_cpp.llama_chat_format import Jinja2ChatFormatter

    gguf = Path(os.path.expanduser("~/.cache/podium/models"))
    gguf = gguf / "qwen2.5-coder-0.5b-instruct-q4_k_m.gguf"
    vocab = llama_cpp.Llama(str(gguf), vocab_only=True, verbose=False)
    template = vocab.metadata["tokenizer.chat_template"]
    fmt = Jinja2ChatFormatter(template, eos_token="<|im_end|>", bos_token="")
    [record] = _exported(tmp_path, shared_data)
    text = fmt(messages=record["messages"]).prompt
    assert text.startswith("<|im_start|>system\nYou are a SQLite expert.")
    assert f"<|im_start|>assistant\n{SQL}<|im_end|>" in text
