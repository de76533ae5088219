"""Matching tables end to end: candidates with evidence, one-to-one, no-match, the expert."""

from __future__ import annotations

from pathlib import Path

import pytest

from podium.experts.base import ExpertContext
from podium.experts.schema_match import SchemaMatchExpert, SchemaMatchRequest, match_tables
from podium.models.provider import ModelProvider


def test_without_embeddings_names_and_values_find_the_obvious_matches(
    customers: Path, clients: Path
) -> None:
    result = match_tables(customers, clients, embeddings=None, top_k=3)
    best = {c.source: c.candidates[0].target for c in result.columns}
    assert best["email_addr"] == "email"
    assert best["birth_yr"] == "year_of_birth"
    assert best["cust_id"] == "customer_identifier"
    top = result.columns[2].candidates[0]
    assert set(top.signals) >= {"name", "value_jaccard", "type"}
    assert "name" in top.agreed
    assert len(result.columns[0].candidates) == 3


@pytest.mark.slow
def test_real_minilm_matches_customers_to_clients(customers: Path, clients: Path) -> None:
    result = match_tables(customers, clients)
    matched = dict((s, t) for s, t, _ in result.matches)
    assert matched["email_addr"] == "email"
    assert matched["birth_yr"] == "year_of_birth"
    assert matched.get("full_name") == "name"
    assert all(0.0 <= c <= 1.0 for _, _, c in result.matches)
    assert "embedding" in result.columns[0].candidates[0].signals


@pytest.mark.slow
def test_unrelated_tables_have_no_match(customers: Path, planets: Path) -> None:
    result = match_tables(planets, customers)
    assert result.matches == []
    assert all(c.match is None for c in result.columns)
    assert result.columns[0].candidates  # candidates are still shown, just not accepted


def test_one_to_one_uses_each_target_once(write_csv) -> None:
    src = write_csv("s.csv", "start_date,end_date,date_created\n2024-01-01,2024-02-01,2023-12-01\n")
    tgt = write_csv("t.csv", "date,amount\n2024-01-05,3\n")
    many = match_tables(src, tgt, embeddings=None, threshold=0.0)
    assert [t for _, t, _ in many.matches].count("date") >= 2
    one = match_tables(src, tgt, embeddings=None, threshold=0.0, one_to_one=True)
    targets = [t for _, t, _ in one.matches]
    assert len(targets) == len(set(targets))


def test_empty_tables_match_by_name_alone(write_csv) -> None:
    src = write_csv("s.csv", "email_addr,birth_yr\n")
    tgt = write_csv("t.csv", "year_of_birth,email\n")
    result = match_tables(src, tgt, embeddings=None)
    best = {c.source: c.candidates[0].target for c in result.columns}
    assert best == {"email_addr": "email", "birth_yr": "year_of_birth"}


@pytest.mark.slow
def test_expert_maps_a_gdc_study_onto_the_gdc_standard(gdc: Path) -> None:
    pair = gdc / "gdc-huang"
    request = SchemaMatchRequest(
        text=f"Map {pair / 'source.csv'} onto {pair / 'target.csv'}", top_k=3
    )
    result = SchemaMatchExpert().run(request, ExpertContext(models=ModelProvider()))
    assert result.ok, result.error
    matched = {m["source"]: m["target"] for m in result.output["matches"]}
    assert matched["gender"] == "gender"
    assert matched["tumor_focality"] == "tumor_focality"
    assert matched["num_smoke_per_day"] == "cigarettes_per_day"
    assert 0.0 < result.confidence <= 1.0
    assert result.evidence and result.evidence[0].metadata["signals"]
    assert "Matched" in (result.summary or "")


def test_expert_needs_two_tables(customers: Path) -> None:
    from podium.errors import InputRejected

    request = SchemaMatchRequest(text=f"What is in {customers}?")
    with pytest.raises(InputRejected, match="needs two tables"):
        SchemaMatchExpert().run(request, ExpertContext(models=ModelProvider()))


def test_expert_is_a_builtin_the_planner_sees() -> None:
    from podium.runner import builtin_experts

    (exp,) = [e for e in builtin_experts() if e.name == "schema_match"]
    assert "columns" in exp.description
    assert exp.card()["inputs"][0] == "text"


def test_expert_finds_workspace_tables_and_csv_paths_in_the_text(workspace, clients: Path) -> None:
    import sqlalchemy as sa

    from podium.experts.schema_match.expert import resolve_tables
    from podium.workspace import DatabaseSpec

    db = workspace.root / "crm.db"
    engine = sa.create_engine(f"sqlite:///{db}")
    with engine.begin() as conn:
        conn.exec_driver_sql("CREATE TABLE customers (id INTEGER, email TEXT)")
    engine.dispose()
    workspace.config.databases.append(DatabaseSpec(name="crm", url=f"sqlite:///{db}"))
    ctx = ExpertContext(workspace=workspace)
    request = SchemaMatchRequest(text=f"Map the columns of {clients} onto the customers table")
    source, target = resolve_tables(request, ctx)
    assert source == str(clients)
    assert target == f"sqlite:///{db}#customers"
