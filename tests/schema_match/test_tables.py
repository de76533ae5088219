"""Reading tables: CSV, DataFrame, SQLAlchemy; bad input fails with the fix in the message."""

from __future__ import annotations

from pathlib import Path

import pandas as pd
import pytest
import sqlalchemy as sa

from podium.errors import InputRejected
from podium.experts.schema_match import load_table


def test_csv_columns_are_profiled_with_types_and_values(customers: Path) -> None:
    table = load_table(customers)
    assert table.name == "customers"
    assert table.names == ["cust_id", "full_name", "email_addr", "birth_yr", "country"]
    types = {c.name: c.dtype for c in table.columns}
    assert types == {
        "cust_id": "integer",
        "full_name": "text",
        "email_addr": "text",
        "birth_yr": "integer",
        "country": "text",
    }
    country = table.columns[4]
    assert country.values[0] == "uk"  # most common first, lower-cased
    assert country.n_distinct == 3
    assert table.columns[3].quantiles is not None


def test_non_utf8_csv_is_rejected_with_a_fix(write_csv) -> None:
    path = write_csv("latin.csv", "name,città\nJosé,Bogotá\n", encoding="latin-1")
    with pytest.raises(InputRejected, match="not UTF-8") as info:
        load_table(path)
    assert "iconv" in (info.value.hint or "")


def test_duplicate_column_names_are_rejected_by_name(write_csv) -> None:
    path = write_csv("dupes.csv", "id,name,name,age\n1,a,b,3\n")
    with pytest.raises(InputRejected, match="duplicate column names: name"):
        load_table(path)


def test_duplicate_dataframe_columns_are_rejected() -> None:
    frame = pd.DataFrame([[1, 2]], columns=["x", "x"])
    with pytest.raises(InputRejected, match="duplicate"):
        load_table(frame)


def test_empty_file_and_missing_file_are_rejected(write_csv, tmp_path: Path) -> None:
    with pytest.raises(InputRejected, match="no header"):
        load_table(write_csv("empty.csv", ""))
    with pytest.raises(InputRejected, match="no CSV file"):
        load_table(tmp_path / "nope.csv")


def test_header_only_table_has_empty_columns(write_csv) -> None:
    table = load_table(write_csv("header.csv", "id,name\n"))
    assert table.n_rows == 0
    assert [c.dtype for c in table.columns] == ["empty", "empty"]


def test_sqlalchemy_table_by_url_and_name(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'shop.db'}"
    engine = sa.create_engine(url)
    with engine.begin() as conn:
        conn.exec_driver_sql("CREATE TABLE orders (order_id INTEGER, total REAL, status TEXT)")
        conn.exec_driver_sql("INSERT INTO orders VALUES (1, 9.5, 'shipped'), (2, 20, 'new')")
    engine.dispose()
    table = load_table(f"{url}#orders")
    assert table.name == "orders"
    assert [c.dtype for c in table.columns] == ["integer", "float", "text"]
    with pytest.raises(InputRejected, match="no table 'clients'") as info:
        load_table(f"{url}#clients")
    assert "orders" in (info.value.hint or "")
    with pytest.raises(InputRejected, match="no table"):
        load_table(url + "#")
