"""What the answer's writer reads for a computed column: the computation, not a bare alias."""

import pytest

from podium.demo.shop import build_shop_db
from podium.experts.base import ExpertContext
from podium.experts.nl2sql import NL2SQLExpert
from podium.experts.nl2sql.expert import summarize
from podium.experts.nl2sql.labels import column_labels
from podium.models.provider import ModelProvider
from podium.tools.sql import Database, QueryResult

from .test_expert import _scripted


def result(sql: str, columns: list[str], rows: list[tuple]) -> QueryResult:
    return QueryResult(sql, columns, rows, len(rows), False, 1.0)


def test_an_aliased_sum_says_what_it_adds_up() -> None:
    # The 1.5B writer read "[name, total] Theo Bakker, 5465.59" as "5465.59 orders placed".
    sql = (
        "SELECT c.name, SUM(o.total) AS total FROM customers AS c JOIN orders AS o "
        "ON c.id = o.customer_id WHERE c.country = 'Germany' GROUP BY c.name "
        "ORDER BY total DESC LIMIT 1"
    )
    summary = summarize(result(sql, ["name", "total"], [("Theo Bakker", 5465.59)]), "sqlite")
    assert summary == "[name, total (sum of orders.total)] Theo Bakker, 5465.59"


def test_one_computed_value_is_labelled_too() -> None:
    sql = (
        "SELECT SUM(oi.quantity * oi.unit_price) AS revenue FROM order_items AS oi "
        "JOIN orders ON oi.order_id = orders.id"
    )
    summary = summarize(result(sql, ["revenue"], [(98058.69,)]), "sqlite")
    assert summary == ("revenue (sum of order_items.quantity * order_items.unit_price): 98058.69")


def test_counts_and_averages_read_as_words() -> None:
    sql = (
        "SELECT country, COUNT(*) AS n, AVG(total) AS avg_total, COUNT(DISTINCT customer_id) "
        "AS buyers FROM orders JOIN customers ON customers.id = orders.customer_id "
        "GROUP BY country"
    )
    labels = column_labels(sql, ["country", "n", "avg_total", "buyers"], "sqlite")
    assert labels == [
        "country",
        "n (number of rows)",
        "avg_total (average of total)",
        "buyers (number of distinct customer_id)",
    ]


def test_plain_and_unaliased_columns_keep_their_names() -> None:
    sql = "SELECT name, COUNT(*), price AS cost FROM products GROUP BY name"
    assert column_labels(sql, ["name", "COUNT(*)", "cost"], "sqlite") == [
        "name",
        "COUNT(*)",
        "cost",
    ]


def test_what_cannot_be_read_keeps_the_database_names() -> None:
    union = "SELECT name FROM customers UNION SELECT name FROM products"
    assert column_labels(union, ["name"], "sqlite") == ["name"]
    assert column_labels("not sql at all (", ["x"], "sqlite") == ["x"]
    # SELECT * gives more columns than projections: nothing to pair, names kept
    assert column_labels("SELECT * FROM products", ["id", "name"], "sqlite") == ["id", "name"]


@pytest.fixture(scope="module")
def shop(tmp_path_factory: pytest.TempPathFactory) -> Database:
    path = build_shop_db(tmp_path_factory.mktemp("shop") / "shop.sqlite", customers=40, orders=200)
    return Database(f"sqlite:///{path}")


PER_COUNTRY = (
    "SELECT c.country, AVG(o.total) AS avg_value FROM orders AS o JOIN customers AS c "
    "ON o.customer_id = c.id GROUP BY c.country"
)


def test_a_per_group_answer_tells_the_writer_each_row_answers_a_group(shop):
    small, _ = _scripted(PER_COUNTRY)
    large, _ = _scripted("SELECT 0")
    ctx = ExpertContext(models=ModelProvider({"small": small, "large": large}))

    answer = NL2SQLExpert().answer(shop, "What is the average order value per country?", ctx)

    assert answer.ok and len(answer.output["rows"]) > 1
    assert answer.details["answers_per"] == "country"
    assert answer.summary.startswith("[country, avg_value (average of orders.total)] ")
    one = NL2SQLExpert().answer(shop, "What is the average order value?", ctx)
    assert "answers_per" not in one.details
