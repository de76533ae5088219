"""Podium.close() gives the process-wide caches back, once the last open Podium closes."""

from __future__ import annotations

import importlib
import sqlite3
import sys
import weakref

import pytest

from podium import caches
from podium.caches import PROCESS_CACHES, release_process_caches
from podium.orchestrator import plan, policy_cards
from podium.tools.sql.database import _DATABASES, open_database


def test_every_listed_cache_exists_where_it_is_listed():
    for cache in PROCESS_CACHES:
        module = importlib.import_module(cache.module)
        target = getattr(module, cache.name)
        assert isinstance(target, dict) or callable(getattr(target, "cache_clear", None)), cache
        if cache.lock:
            assert hasattr(getattr(module, cache.lock), "__enter__"), cache


@pytest.fixture(autouse=True)
def _no_other_podium_open(monkeypatch):
    """Podiums of earlier tests may still be alive: count only this test's."""
    monkeypatch.setattr(caches, "_open", weakref.WeakSet())


def test_the_last_podium_to_close_releases_the_caches(make_podium, tmp_path):
    first, second = make_podium(experts=[]), make_podium(experts=[])
    assert caches.open_podiums() == 2
    plan.plan_schema(["sql"], max_steps=3)
    sqlite3.connect(tmp_path / "shop.db").close()
    database = open_database(f"sqlite:///{tmp_path / 'shop.db'}")
    policy_cards._READ["card.json"] = (0, None)  # as if a card had been read

    first.close()
    assert plan._plan_schema.cache_info().currsize > 0, "the second Podium still uses them"
    assert database.url in _DATABASES

    second.close()
    assert caches.open_podiums() == 0
    assert plan._plan_schema.cache_info().currsize == 0
    assert database.url not in _DATABASES
    assert "card.json" not in policy_cards._READ
    with database.engine.connect():  # disposed, not broken: a holder can still query
        pass


def test_closing_twice_counts_once(make_podium):
    first, second = make_podium(experts=[]), make_podium(experts=[])
    first.close()
    first.close()
    assert caches.open_podiums() == 1, "the second Podium is still open"
    second.close()
    assert caches.open_podiums() == 0


def test_releasing_never_imports_a_module(monkeypatch):
    name = "podium.models.local_llama"
    importlib.import_module(name)
    monkeypatch.delitem(sys.modules, name)
    released = release_process_caches()
    assert name not in sys.modules
    assert f"{name}.load_gguf" not in released
    assert "podium.orchestrator.plan._plan_schema" in released


def test_a_cache_that_is_neither_a_dict_nor_an_lru_cache_is_an_error(monkeypatch):
    monkeypatch.setattr(
        caches, "PROCESS_CACHES", (caches.ProcessCache("podium.orchestrator.plan", "Plan"),)
    )
    with pytest.raises(TypeError, match=r"podium\.orchestrator\.plan\.Plan"):
        release_process_caches()
