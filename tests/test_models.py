"""Model URIs, the local llama.cpp chat model, and clear errors when a model is missing."""

from __future__ import annotations

import pytest
from pydantic import BaseModel

from podium.errors import ConfigError, ModelUnavailable
from podium.models import ModelProvider, parse_model_uri
from podium.models.provider import create_chat_model
from podium.models.usage import metered


def test_uris_parse_into_their_parts():
    assert parse_model_uri("local:smollm2").is_local
    assert parse_model_uri("openai:gpt-4o-mini").name == "gpt-4o-mini"
    remote = parse_model_uri("openai-compatible:http://10.0.0.5:8000/v1#qwen2.5")
    assert (remote.base_url, remote.name) == ("http://10.0.0.5:8000/v1", "qwen2.5")
    assert str(remote) == "openai-compatible:http://10.0.0.5:8000/v1#qwen2.5"


@pytest.mark.parametrize(
    ("uri", "says"),
    [
        ("gpt4", "has no scheme"),
        ("hf:meta/llama", "unknown model scheme 'hf'"),
        ("openai-compatible:http://host/v1", "needs a base URL and a model name"),
        ("openai-compatible:ftp://host#m", "must start with http"),
    ],
)
def test_bad_uris_say_how_to_write_them(uri, says):
    with pytest.raises(ConfigError, match=says):
        parse_model_uri(uri)


def test_a_missing_local_model_file_says_how_to_fix_it(tmp_path):
    with pytest.raises(ModelUnavailable, match="does not exist"):
        create_chat_model(f"local:{tmp_path / 'nope.gguf'}")
    with pytest.raises(ConfigError, match="embedding model"):
        create_chat_model("local:minilm")


def test_openai_without_a_key_is_refused_up_front(monkeypatch):
    monkeypatch.delenv("OPENAI_API_KEY", raising=False)
    with pytest.raises(ModelUnavailable, match="OPENAI_API_KEY"):
        create_chat_model("openai:gpt-4o-mini")


def test_an_unreachable_endpoint_fails_the_run_with_a_clear_message(workspace):
    from podium import Podium

    podium = Podium(
        planner="openai-compatible:http://127.0.0.1:9/v1#nothing-here",
        workspace=workspace,
        warmup=False,
        semantic_check=False,
    )
    with pytest.raises(ModelUnavailable, match="unreachable"):
        podium.run("How many orders are there?")


@pytest.mark.slow
def test_local_model_chats_and_reports_tokens():
    provider = ModelProvider({"planner": "local:smollm2"})
    with metered() as (meter, _):
        reply = provider.chat(role="planner").invoke("Reply with one word: hello")
    assert str(reply.content).strip()
    assert meter.calls == 1 and meter.large_calls == 1
    assert meter.input_tokens > 0 and meter.output_tokens > 0
    assert meter.models == ["local:smollm2"]


@pytest.mark.slow
def test_local_model_structured_output_is_constrained_to_the_schema():
    class Verdict(BaseModel):
        label: bool
        colour: str

    model = ModelProvider().base_chat("local:smollm2")
    out = model.with_structured_output(Verdict).invoke("Is the sky blue? Give its colour.")
    assert isinstance(out, Verdict)


@pytest.mark.slow
def test_local_model_streams_tokens():
    model = ModelProvider().chat("local:smollm2")
    chunks = [c.content for c in model.stream("Count: one, two,")]
    assert len([c for c in chunks if c]) > 1


@pytest.mark.slow
def test_the_thread_setting_also_bounds_prompt_reading(monkeypatch):
    """PODIUM_LLAMA_THREADS=1 must keep a model on one core while it reads a prompt too,
    not only while it decodes (llama-cpp-python's own default for reading is every core)."""
    from podium.models.local_llama import load_gguf, smollm2_path

    monkeypatch.setenv("PODIUM_LLAMA_THREADS", "1")
    loaded = load_gguf(str(smollm2_path()), 512)
    assert loaded.llama.context_params.n_threads == 1
    assert loaded.llama.context_params.n_threads_batch == 1
