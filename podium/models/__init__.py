"""Model backends: the embedded llama.cpp chat model, any LangChain chat model, embeddings,
and the one place that turns a model URI into a model."""

from .embeddings import Embedder, load_embedder
from .provider import ModelProvider, create_chat_model, model_label
from .uri import ModelURI, parse_model_uri

__all__ = [
    "Embedder",
    "ModelProvider",
    "ModelURI",
    "create_chat_model",
    "load_embedder",
    "model_label",
    "parse_model_uri",
]
