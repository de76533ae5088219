"""Workspaces: what podium.toml says, and where things live."""

from __future__ import annotations

import pytest

from podium.errors import ConfigError
from podium.workspace import Workspace, demo_workspace


def test_relative_sqlite_urls_resolve_against_the_workspace(tmp_path):
    ws = Workspace.init(tmp_path / "ws", databases=["sqlite:///data/shop.db"], documents=["docs"])
    assert ws.database_url() == f"sqlite:///{tmp_path / 'ws' / 'data' / 'shop.db'}"
    assert ws.document_paths() == [tmp_path / "ws" / "docs"]
    assert ws.store_url.endswith("/ws/.podium/store.sqlite")


def test_invalid_toml_and_settings_are_reported_with_the_file(tmp_path):
    (tmp_path / "podium.toml").write_text("name = [unclosed")
    with pytest.raises(ConfigError, match="not valid TOML"):
        Workspace.load(tmp_path)
    (tmp_path / "podium.toml").write_text("[limits]\nmax_steps = -1\n")
    with pytest.raises(ConfigError, match="max_steps"):
        Workspace.load(tmp_path)


def test_unknown_database_name_lists_the_known_ones(demo):
    with pytest.raises(ConfigError, match="known: shop"):
        demo.database("crm")


def test_demo_database_is_deterministic(tmp_path):
    a = demo_workspace(tmp_path / "a").root / "shop.sqlite"
    b = demo_workspace(tmp_path / "b").root / "shop.sqlite"
    assert a.read_bytes() == b.read_bytes()
    import sqlite3

    con = sqlite3.connect(a)
    counts = {
        t: con.execute(f"SELECT COUNT(*) FROM {t}").fetchone()[0]
        for t in ("customers", "products", "orders", "order_items")
    }
    assert counts["customers"] == 300 and counts["orders"] == 1500
    assert sum(counts.values()) > 3000


def test_demo_prices_are_what_such_products_cost(tmp_path):
    import sqlite3

    con = sqlite3.connect(demo_workspace(tmp_path).root / "shop.sqlite")
    price = dict(con.execute("SELECT name, price FROM products").fetchall())
    dearest_tent = con.execute(
        "SELECT name FROM products WHERE category = 'tents' ORDER BY price DESC LIMIT 1"
    ).fetchone()[0]
    assert dearest_tent.endswith("Tent")  # not the pole repair kit
    assert price["Pole Repair Kit"] < 20 and price["Spork"] < 12
    assert price["Basecamp 6P Tent"] > 10 * price["Tent Footprint"]
    # every other row is as before: the counts the demo's answers quote
    assert con.execute("SELECT COUNT(*) FROM orders WHERE order_date LIKE '2024%'").fetchone() == (
        543,
    )
