"""Process-wide caches, and releasing them when the last open :class:`~podium.Podium` closes.

Loaded models, embedders, verifiers, database engines and document stores are shared by every
Podium in a process (loading a model costs seconds and hundreds of MB). ``Podium.close()``
gives them back, but only when no other Podium in the process is still open: each Podium
counts itself in at the end of its construction and out when it closes. A Podium that is
garbage-collected without ``close()`` stops counting too.

Releasing drops the caches' references (and disposes cached database engines, which stay
usable and reconnect on their next query). An object that still holds a model keeps it
working; the memory goes when the last holder does. Only modules already imported are
touched, so closing never imports model code.
"""

from __future__ import annotations

import sys
import threading
import weakref
from contextlib import AbstractContextManager, nullcontext
from dataclasses import dataclass


@dataclass(frozen=True)
class ProcessCache:
    """A module-level cache: an ``functools.lru_cache`` function or a dict."""

    module: str
    name: str
    lock: str | None = None  # the module's lock guarding the dict, taken while clearing
    close_values: bool = False  # call ``close()`` on each cached value (database engines)


PROCESS_CACHES: tuple[ProcessCache, ...] = (
    ProcessCache("podium.models.local_llama", "load_gguf"),
    ProcessCache("podium.models.embeddings", "_LOADED", lock="_LOAD_LOCK"),
    ProcessCache("podium.experts.fact_check.verifier", "_CACHE", lock="_CACHE_LOCK"),
    ProcessCache("podium.experts.schema_match.signals", "token_similarity"),
    ProcessCache("podium.experts.schema_match.signals", "_VECTORS"),
    ProcessCache("podium.experts.schema_match.evaluate", "_TARGETS"),
    ProcessCache("podium.memory.documents.store", "_WORKSPACE_STORES", lock="_WS_LOCK"),
    ProcessCache(
        "podium.tools.sql.database", "_DATABASES", lock="_DATABASES_LOCK", close_values=True
    ),
    ProcessCache("podium.orchestrator.plan", "_plan_schema"),
    ProcessCache("podium.orchestrator.policy_cards", "_READ"),
)

_lock = threading.Lock()
_open: weakref.WeakSet[object] = weakref.WeakSet()


def podium_opened(podium: object) -> None:
    """Count ``podium`` as open: the caches stay until it closes."""
    with _lock:
        _open.add(podium)


def podium_closed(podium: object) -> list[str]:
    """Count ``podium`` as closed; when it was the last open one, release the caches.
    Returns what was released (``module.name``), empty while another Podium is open."""
    with _lock:
        _open.discard(podium)
        if len(_open) > 0:
            return []
        return release_process_caches()


def open_podiums() -> int:
    """How many Podiums in this process are open (constructed, not closed, not collected)."""
    with _lock:
        return len(_open)


def release_process_caches() -> list[str]:
    """Clear every cache of :data:`PROCESS_CACHES` whose module is imported, regardless of
    open Podiums (``Podium.close()`` calls this only for the last one). Returns
    ``module.name`` of each cache cleared."""
    released = []
    for cache in PROCESS_CACHES:
        module = sys.modules.get(cache.module)
        if module is None:
            continue
        target: object = getattr(module, cache.name)
        lock: object = getattr(module, cache.lock) if cache.lock else None
        if isinstance(target, dict):
            guard = lock if isinstance(lock, AbstractContextManager) else nullcontext()
            with guard:
                values = list(target.values())
                target.clear()
            if cache.close_values:
                for value in values:
                    close = getattr(value, "close", None)
                    if callable(close):
                        close()
        else:
            clear = getattr(target, "cache_clear", None)
            if not callable(clear):
                raise TypeError(f"{cache.module}.{cache.name} is neither a dict nor an lru_cache")
            clear()
        released.append(f"{cache.module}.{cache.name}")
    return released
