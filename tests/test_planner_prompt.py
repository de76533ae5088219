"""What the planner reads: every offered expert shown once, the workspace's sources, and only
the experts this workspace can serve."""

from __future__ import annotations

from pathlib import Path

from podium.experts.fact_check import FactCheckExpert
from podium.experts.nl2sql import NL2SQLExpert
from podium.experts.registry import ExpertRegistry
from podium.experts.retrieval import RetrievalExpert
from podium.orchestrator.planner import few_shot_examples, planner_messages
from podium.orchestrator.sources import describe_sources, offered_experts
from podium.workspace import Workspace

SHOP_TABLES = (
    "(tables: customers (name, email, country, city, signup_date, segment), order_items "
    "(order_id, product_id, quantity, unit_price), orders (customer_id, order_date, status, "
    "total), products (name, category, price, stock))"
)


def _registry() -> ExpertRegistry:
    return ExpertRegistry([NL2SQLExpert(), RetrievalExpert(), FactCheckExpert()])


def test_each_expert_is_shown_once_and_two_requests_for_one_expert_are_two_steps() -> None:
    shots = few_shot_examples(_registry())
    single = [plan["steps"][0]["expert"] for _, plan in shots if len(plan["steps"]) == 1]
    assert single == ["nl2sql", "retrieval", "fact_check"]
    pairs = [[s["expert"] for s in plan["steps"]] for _, plan in shots if len(plan["steps"]) == 2]
    assert ["nl2sql", "retrieval"] in pairs and ["nl2sql", "nl2sql"] in pairs


def test_the_planner_reads_the_workspaces_databases_and_documents(demo: Workspace) -> None:
    sources = describe_sources(demo)
    assert "- database shop: Podium Outfitters web shop" in sources
    assert SHOP_TABLES in sources
    assert "- documents docs: Shop policies" in sources and "(5 files)" in sources
    system = planner_messages("How many orders?", _registry(), sources=sources)[0].content
    assert SHOP_TABLES in str(system)


def test_a_workspace_without_documents_is_not_offered_retrieval(
    demo: Workspace, tmp_path: Path
) -> None:
    db = demo.root / "shop.sqlite"
    only_db = Workspace.init(tmp_path / "db-only", databases=[f"sqlite:///{db}"])
    assert describe_sources(only_db).endswith("- no documents")
    assert offered_experts(_registry(), only_db).names() == ["nl2sql", "fact_check"]
    assert offered_experts(_registry(), demo).names() == ["nl2sql", "retrieval", "fact_check"]
    empty = Workspace.init(tmp_path / "empty")
    assert offered_experts(_registry(), empty).names() == ["fact_check"]


def test_a_large_schema_is_named_by_its_tables_alone(tmp_path: Path) -> None:
    import sqlite3

    db = tmp_path / "wide.sqlite"
    with sqlite3.connect(db) as conn:
        for t in range(9):
            columns = ", ".join(f"c{i} TEXT" for i in range(10))
            conn.execute(f"CREATE TABLE t{t} (id INTEGER PRIMARY KEY, {columns})")
    wide = Workspace.init(tmp_path / "wide", databases=[f"sqlite:///{db}"])
    assert "(tables: t0, t1, t2, t3, t4, t5, t6, t7, t8)" in describe_sources(wide)
