"""The answer streams a sentence at a time, and nothing streamed is ever taken back."""

from __future__ import annotations

import dataclasses

from podium import ExpertResult, expert
from podium.orchestrator.counted import counted_nouns
from podium.orchestrator.readable import rows_in_words
from podium.orchestrator.row_pairs import row_facts
from podium.orchestrator.synthesizer import Sources, UnsupportedClaim, _missing, text_problems

from .scripted import plan_json


@expert(description="Counts the orders of a year.")
def orders(text: str) -> str:
    return "543 orders"


@expert(description="Finds the return policy.")
def policy(text: str) -> str:
    return "Damaged items are replaced at no cost within 14 days."


TASK = "How many orders were placed in 2024, and what is the return policy?"
PLAN = plan_json(("s1", "orders", "orders in 2024"), ("s2", "policy", "return policy"))


def _streamed(result) -> str:
    return "".join(e["text"] for e in result.events if e["type"] == "token")


def test_a_grounded_answer_streams_in_sentences_that_make_up_the_answer(make_podium):
    answer = "543 orders were placed in 2024. Damaged items are replaced at no cost within 14 days."
    podium = make_podium(PLAN, answer, experts=[orders, policy])
    result = podium.run(TASK)

    tokens = [e["text"] for e in result.events if e["type"] == "token"]
    assert len(tokens) == 2  # one event per sentence
    assert tokens[0].strip() == "543 orders were placed in 2024."
    assert result.answer == answer
    assert _streamed(result).strip() == result.answer


def test_a_sentence_with_an_invented_number_is_never_sent_and_the_rest_is_appended(make_podium):
    podium = make_podium(
        PLAN,
        # The second sentence invents "30 days": it must never reach the reader.
        "543 orders were placed in 2024. Returns are accepted within 30 days.",
        # The step-by-step completion for the step the first sentence left out:
        "Damaged items are replaced at no cost within 14 days.",
        experts=[orders, policy],
    )
    result = podium.run(TASK)

    streamed = _streamed(result)
    assert "30 days" not in streamed and "30 days" not in result.answer
    assert result.answer.startswith(streamed.strip())  # append-only: nothing taken back
    assert result.answer == (
        "543 orders were placed in 2024. Damaged items are replaced at no cost within 14 days."
    )


@expert(description="Totals the orders of a year.")
def revenue(text: str) -> str:
    return "SUM(total): 271895.61"


def test_a_currency_the_results_never_name_is_never_sent(make_podium):
    podium = make_podium(
        plan_json(("s1", "revenue", "total value of the orders placed in 2024")),
        "The total value of the orders placed in 2024 was $271,895.61.",
        "The orders placed in 2024 total 271,895.61.",
        experts=[revenue],
    )
    result = podium.run("What was the total value of the orders placed in 2024?")

    assert "$" not in _streamed(result)
    # the amount stays, the guessed unit goes
    assert result.answer == "The total value of the orders placed in 2024 was 271,895.61."


@expert(description="Finds delivery prices.")
def shipping(text: str) -> str:
    return "Express delivery arrives the next business day for 12.95 EUR."


def test_a_currency_the_results_name_is_kept(make_podium):
    podium = make_podium(
        plan_json(("s1", "shipping", "express delivery price")),
        "Express delivery costs €12.95.",
        experts=[shipping],
    )
    result = podium.run("How much does express delivery cost?")

    assert result.answer == "Express delivery costs €12.95."


@expert(description="Finds the best-selling category.")
def best_category(text: str) -> str:
    return "category: Tents"


def test_an_answer_that_names_the_value_is_not_completed_with_the_column_name(make_podium):
    # "category" is the result's column, not part of what was found: an answer naming "Tents"
    # carries the finding and gets no step-by-step line appended.
    podium = make_podium(
        plan_json(("s1", "best_category", "Which category brings in the most revenue?")),
        "Tents bring in the most revenue.",
        experts=[best_category],
    )
    result = podium.run("Which product category brings in the most revenue?")
    assert result.answer == "Tents bring in the most revenue."


@expert(description="Ranks the product categories by revenue.")
def categories_by_revenue(text: str) -> str:
    return "[category] tents; footwear; climbing; backpacks; clothing; kitchen"


def test_an_answer_naming_the_top_row_of_a_ranked_result_is_not_completed_with_every_row(
    make_podium,
):
    # The query ranked every category; the question asked for the top one. Naming it carries
    # the finding, so the answer is not followed by a line listing all six.
    plan = plan_json(("s1", "categories_by_revenue", "Which category has the most revenue?"))
    podium = make_podium(
        plan, "The category with the most revenue is tents.", experts=[categories_by_revenue]
    )
    assert podium.run("Which category has the most revenue?").answer == (
        "The category with the most revenue is tents."
    )


def test_an_answer_naming_a_lower_row_still_gets_the_finding_appended(make_podium):
    plan = plan_json(("s1", "categories_by_revenue", "Which category has the most revenue?"))
    podium = make_podium(
        plan,
        "Footwear brings in the most revenue.",
        "Footwear brings in the most revenue.",  # the step-by-step completion, again wrong
        experts=[categories_by_revenue],
    )
    answer = podium.run("Which category has the most revenue?").answer
    assert "I found category: tents, footwear, climbing, backpacks, clothing, kitchen." in answer


LOYALTY = (
    "(loyalty.md: Trailpoints) Customers earn one Trailpoint for every euro spent. Every 500 "
    "Trailpoints become a 10 EUR voucher. Points expire 24 months after they were earned. "
    "Returned orders remove the points they earned."
)


@expert(description="Finds the loyalty programme's rules.")
def loyalty(text: str) -> str:
    return LOYALTY


def test_an_answer_giving_a_passages_point_in_its_own_words_is_not_followed_by_the_passage(
    make_podium,
):
    # The passage holds numbers the question did not ask about; an answer that says what it
    # found in other word forms ("removed" for "remove", "order" for "orders") carries it.
    asked = "What happens to Trailpoints when an order is returned?"
    written = "When an order is returned, the Trailpoints it earned are removed."
    podium = make_podium(plan_json(("s1", "loyalty", asked)), written, experts=[loyalty])
    assert podium.run(asked).answer == written


def test_an_answer_that_misses_the_passages_point_gets_it_appended(make_podium):
    asked = "What happens to Trailpoints when an order is returned?"
    podium = make_podium(
        plan_json(("s1", "loyalty", asked)),
        "Returns are accepted within 30 days.",
        "Returns are accepted within 30 days.",  # the step-by-step completion, again off
        experts=[loyalty],
    )
    answer = podium.run(asked).answer
    assert "I found: (loyalty.md: Trailpoints) Customers earn" in answer


def test_a_count_is_carried_only_by_its_number():
    findings = {"s1": "COUNT(*): 543"}
    assert _missing("There were 543 orders in 2024.", findings) == []
    assert _missing("There were many orders counted in 2024.", findings) == ["s1"]


def test_a_verdicts_confidence_is_not_a_finding_the_answer_must_repeat():
    # The writer answered the question; the step's verdict was then appended word for word,
    # because its only number was its confidence and the answer did not repeat it.
    findings = {
        "s1": "The documents support “Can I return worn hiking boots” (confidence 0.40); "
        "evidence: Worn footwear can be returned only if it is faulty."
    }
    assert _missing("Yes, you can return worn hiking boots if they are faulty.", findings) == []
    assert _missing("Orders ship within two days.", findings) == ["s1"]


@expert(description="Lists the priciest products.")
def priciest(text: str) -> str:
    return "[name] Pole Repair Kit; Family Cabin Tent; Ridge Ultralight Tent"


def test_a_sentence_naming_things_no_result_names_is_never_sent(make_podium):
    # The 1.5B once wrote placeholders for the rows it was given; and the step-by-step model
    # echoed the query. Neither may stand for the rows.
    asked = "Which three products have the highest price?"
    podium = make_podium(
        plan_json(("s1", "priciest", asked)),
        "The three products with the highest price are Product A, Product B and Product C.",
        "SELECT name FROM products ORDER BY price DESC LIMIT 3.",
        experts=[priciest],
    )
    answer = podium.run(asked).answer
    assert "Product A" not in answer and "SELECT" not in answer
    assert "I found name: Pole Repair Kit, Family Cabin Tent, Ridge Ultralight Tent." in answer


def test_names_the_results_hold_are_sent_in_any_case():
    sources = ["[name] Olga Martin; David Berg", "Which customers in the EU spent the most?"]
    assert text_problems("Olga Martin and David Berg spent the most in the EU.", sources) == []
    assert text_problems("Olga Martin and Anna Smith spent the most.", sources) == [
        "names no result contains: Anna, Smith"
    ]


def test_sources_read_once_judge_an_answer_as_the_texts_themselves_do():
    """The checks read the results' numbers and currencies once per answer; reading them
    once must not change a verdict, and a step's own fact adds what it says."""
    from podium.orchestrator.synthesizer import Sources, text_problems, without_unnamed_symbols

    texts = ["How many orders?", "[s1] nl2sql: COUNT(*): 1,543", "Refunds in € within 14 days"]
    facts = Sources.of(texts)
    for answer in (
        "1543 orders.",
        "1,543 orders, refunded in euros.",
        "1,544 orders.",
        "It costs $12 or 14 dollars.",
        "",
    ):
        assert text_problems(answer, facts) == text_problems(answer, texts)
        assert without_unnamed_symbols(answer, facts) == without_unnamed_symbols(answer, texts)
    assert text_problems("It took 9 days.", facts) == ["numbers not in any result: 9"]
    assert text_problems("It took 9 days.", facts.plus("delivery: 9 days")) == []
    assert text_problems("Refunds of $5.", facts.plus("refunds of $5")) == []


def test_sources_are_read_up_to_each_texts_edges_and_no_further():
    """All sources are read in one pass; a number or a word still ends where its text ends."""
    from podium.orchestrator.synthesizer import Sources, text_problems

    facts = Sources.of(["Total: 12", "34 USD", "Refunds in euros", "version 1", ".5 beta"])

    assert facts.numbers == {"12", "34", "1"}
    assert facts.currencies == {"USD", "EUR"}
    assert text_problems("12 orders and 34 dollars.", facts) == []
    assert text_problems("1234 orders.", facts) == ["numbers not in any result: 1234"]


def test_a_currency_is_recognised_in_any_case_and_a_word_that_contains_one_is_not():
    from podium.orchestrator.synthesizer import text_problems

    plain = ["The total is 5."]
    assert text_problems("It is 5 YEN.", plain) == ["a currency no result names: JPY"]
    assert text_problems("It is 5 Dollars.", plain) == ["a currency no result names: USD"]
    assert text_problems("It is £5.", plain) == ["a currency no result names: GBP"]
    assert text_problems("Eurodance at 5, yentas too.", plain) == []


@expert(description="Checks a claim against the shop's documents.")
def claims(text: str) -> ExpertResult:
    return ExpertResult(
        output={
            "verdict": "NOT_ENOUGH_INFO",
            "claims": [{"claim": "Returns are free.", "label": "NOT_ENOUGH_INFO"}],
        },
        summary="The documents neither confirm nor contradict “Returns are free” (0.81).",
        confidence=0.81,
    )


def test_a_claim_the_fact_check_could_not_confirm_is_never_stated_as_true(make_podium):
    podium = make_podium(
        plan_json(("s1", "orders", "orders in 2024"), ("s2", "claims", "Are returns free?")),
        # The writer repeats the claim it was asked to check as if it were a finding:
        "543 orders were placed in 2024. Returns are free.",
        # ... and again when asked about that step alone:
        "Returns are free.",
        experts=[orders, claims],
    )
    result = podium.run("How many orders were placed in 2024, and are returns free?")

    assert "Returns are free." not in _streamed(result)
    assert result.answer.startswith("543 orders were placed in 2024. ")
    assert "neither confirm nor contradict “Returns are free” (0.81)" in result.answer


def test_a_claim_may_be_denied_or_left_open_but_not_asserted():
    sources = Sources(
        numbers=frozenset(),
        currencies=frozenset(),
        words=frozenset({"returns", "are", "free"}),
        unsupported=(UnsupportedClaim.of("Returns are free."),),
    )
    assert text_problems("Returns are free of charge.", sources)
    for said in (
        "Returns are not free.",
        "The documents do not say whether returns are free.",
        "It is unclear if returns are free.",
        "Returns aren't free.",
        "Returns cost nothing.",  # other words: not this check's to judge
    ):
        assert text_problems(said, sources) == [], said


OLGAS = "2 rows of customers match name = 'Olga Martin'; the result covers all of them"


@expert(description="Totals what a customer spent.")
def spent(text: str) -> ExpertResult:
    return ExpertResult(
        output={"columns": ["SUM(total)"], "rows": [[2345.6]]},
        summary=f"[SUM(total)] 2345.6 ({OLGAS}.)",
        confidence=0.9,
        details={"matches": OLGAS},
    )


def test_an_answer_over_a_name_two_rows_share_says_so_when_the_writer_does_not(make_podium):
    # The 1.5B wrote "Olga Martin spent 2345.6 in total." for two customers of that name.
    asked = "How much has Olga Martin spent in total?"
    podium = make_podium(
        plan_json(("s1", "spent", asked)), "Olga Martin spent 2345.6 in total.", experts=[spent]
    )
    result = podium.run(asked)
    assert " ".join(result.answer.split()) == (
        "Olga Martin spent 2345.6 in total. (Note: 2 rows of customers match name = "
        "'Olga Martin'; the result covers all of them.)"
    )
    assert _streamed(result).strip() == result.answer


def test_an_answer_that_already_says_how_many_share_the_name_gets_no_note(make_podium):
    asked = "How much has Olga Martin spent in total?"
    written = "The two customers named Olga Martin spent 2345.6 in total."
    podium = make_podium(plan_json(("s1", "spent", asked)), written, experts=[spent])
    assert podium.run(asked).answer == written


def test_yes_to_a_question_the_fact_check_could_not_confirm_is_not_sent():
    # "Can I pay with PayPal?" went to the fact checker, which found nothing either way; the
    # writer answered "Yes, you can pay with PayPal." ("pay" is too short a word to count, so
    # the claim has one content word and the all-words rule never applied).
    sources = Sources(
        numbers=frozenset(),
        currencies=frozenset(),
        words=frozenset({"can", "i", "pay", "with", "paypal", "we", "ship", "to", "canada"}),
        unsupported=(UnsupportedClaim.of("Can I pay with PayPal."),),
    )
    assert text_problems("Yes, you can pay with PayPal.", sources)
    assert text_problems("Yes.", sources)
    for said in (
        "No, the documents do not mention PayPal.",
        "The documents do not say whether you can pay with PayPal.",
        "Yes, we ship to Canada.",  # yes to something else
    ):
        assert text_problems(said, sources) == [], said


@expert(description="Averages the order value per country.")
def average_per_country(text: str) -> ExpertResult:
    rows = [["Canada", 442.57031088082897], ["France", 447.6089062500004]]
    rows += [["Netherlands", 451.0828491620114], ["United Kingdom", 473.52362318840557]]
    return ExpertResult(
        output={"columns": ["country", "avg_value"], "rows": rows},
        summary="[country, avg_value (average of total)] Canada, 442.57; France, 447.61; "
        "Netherlands, 451.08; United Kingdom, 473.52",
        confidence=0.9,
    )


def test_a_figure_given_to_another_rows_name_is_never_sent(make_podium):
    # The 1.5B wrote "451.08 for Canada": the Netherlands' average, a number the results do
    # hold, beside the wrong country.
    asked = "What is the average order value per country?"
    podium = make_podium(
        plan_json(("s1", "average_per_country", asked)),
        "The average order value is 451.08 for Canada, 447.61 for France, 451.08 for the "
        "Netherlands and 473.52 for the United Kingdom.",
        "Canada averages 442.57, France 447.61, the Netherlands 451.08 and the United "
        "Kingdom 473.52.",
        experts=[average_per_country],
    )
    result = podium.run(asked)
    assert "451.08 for Canada" not in _streamed(result)
    assert result.answer == (
        "Canada averages 442.57, France 447.61, the Netherlands 451.08 and the United "
        "Kingdom 473.52."
    )


@expert(description="Averages the order value per country, as nl2sql says it.")
def average_for_each_country(text: str) -> ExpertResult:
    result = average_per_country(text)
    return result.model_copy(update={"details": {"answers_per": "country"}})


def test_a_per_group_answer_gives_every_groups_figure(make_podium):
    # The 1.5B wrote one country's figure for eight. That sentence is never shown, not even
    # as an opener before the full list: the answer is written again step by step.
    asked = "What is the average order value per country?"
    podium = make_podium(
        plan_json(("s1", "average_for_each_country", asked)),
        "The average order value per country is 451.08 for the Netherlands.",
        "Canada averages 442.57, France 447.61, the Netherlands 451.08 and the United "
        "Kingdom 473.52.",
        experts=[average_for_each_country],
    )
    result = podium.run(asked)
    expected = (
        "Canada averages 442.57, France 447.61, the Netherlands 451.08 and the United "
        "Kingdom 473.52."
    )
    assert result.answer == expected
    assert _streamed(result) == expected


def test_a_per_group_answer_that_has_every_group_streams_as_written(make_podium):
    asked = "What is the average order value per country?"
    written = (
        "Canada averages 442.57 and France 447.61. The Netherlands averages 451.08 and the "
        "United Kingdom 473.52."
    )
    podium = make_podium(
        plan_json(("s1", "average_for_each_country", asked)),
        written,
        experts=[average_for_each_country],
    )
    result = podium.run(asked)
    assert result.answer == written == _streamed(result).strip()


def test_a_per_group_step_step_by_step_answer_that_drops_groups_is_given_raw(make_podium):
    asked = "What is the average order value per country?"
    podium = make_podium(
        plan_json(("s1", "average_for_each_country", asked)),
        "The Netherlands has the highest average order value, 451.08.",
        "The Netherlands averages 451.08.",
        experts=[average_for_each_country],
    )
    answer = podium.run(asked).answer
    # every country's figure, in a sentence rather than the summary a model reads
    assert answer.endswith(
        "I found avg value (average of total) by country — Canada: 442.57; France: 447.61; "
        "Netherlands: 451.08; United Kingdom: 473.52."
    )


def test_a_table_result_given_as_it_is_reads_as_a_sentence():
    assert rows_in_words("[name, total (sum of orders.total)] Theo Bakker, 5465.59") == (
        "name: Theo Bakker; total (sum of orders.total): 5465.59"
    )
    assert rows_in_words("[name, country, n] Ann, Spain, 3; Bo, Peru, 4 (12 rows)") == (
        "Ann (country: Spain, n: 3); Bo (country: Peru, n: 4) (12 rows in all, the first 2 shown)"
    )
    assert rows_in_words("[year, revenue (sum of total)] 2022, 112219.83; 2023, 172829.87") == (
        "revenue (sum of total) by year — 2022: 112219.83; 2023: 172829.87"
    )
    # cells that cannot be told apart, and text that is not a table, are left as they are
    assert rows_in_words("[name, city] Smith, John, Oslo; Lee, Ann, Rome") is None
    assert rows_in_words("COUNT(*): 543") is None


def test_figures_are_judged_against_the_row_named_beside_them():
    result = average_per_country("")
    sources = dataclasses.replace(Sources.of([result.summary]), rows=row_facts([result.output]))
    for right in (
        "Canada: 442.57; France: 447.61.",
        "The United Kingdom has the highest average, 473.52, and Canada 442.57.",
        "The Netherlands (451.08) and France (447.61) are close.",
        "451.08 is the highest average among the four.",  # no row named: not judged
    ):
        assert text_problems(right, sources) == [], right
    for wrong in ("Canada: 451.08.", "France averages 442.57, the most of all."):
        assert text_problems(wrong, sources), wrong


@expert(description="Finds the customer who spent the most in a country.")
def best_customer(text: str) -> ExpertResult:
    sql = (
        "SELECT c.name, SUM(o.total) AS total FROM customers AS c JOIN orders AS o "
        "ON c.id = o.customer_id WHERE c.country = 'Germany' GROUP BY c.name "
        "ORDER BY total DESC LIMIT 1"
    )
    return ExpertResult(
        output={"sql": sql, "columns": ["name", "total"], "rows": [["Theo Bakker", 5465.59]]},
        summary="[name, total (sum of orders.total)] Theo Bakker, 5465.59",
        confidence=0.9,
    )


def test_an_amount_is_never_sent_as_a_count_of_rows(make_podium):
    # What the 1.5B wrote under every prompt tried: 5465.59 is a sum of order totals.
    asked = "Who is our best customer in Germany?"
    podium = make_podium(
        plan_json(("s1", "best_customer", asked)),
        "Theo Bakker is our best customer in Germany with a total of 5465.59 orders placed.",
        "Theo Bakker is our best customer in Germany; his orders add up to 5465.59.",
        experts=[best_customer],
    )
    result = podium.run(asked)
    assert "orders placed" not in _streamed(result)
    assert result.answer == (
        "Theo Bakker is our best customer in Germany; his orders add up to 5465.59."
    )


def test_only_a_fraction_of_a_tables_rows_is_refused():
    sources = dataclasses.replace(
        Sources.of(["[name, total] Theo Bakker, 5465.59; 12; 4.5"]),
        counted=counted_nouns([best_customer("").output]),
    )
    assert sources.counted >= {"customers", "orders"}
    assert text_problems("Theo Bakker placed 5465.59 orders.", sources)
    for fine in (
        "Theo Bakker placed 12 orders.",
        "His orders total 5465.59.",
        "He spent 5465.59 on orders.",
        "Theo Bakker rated us 4.5 stars.",  # not a table's rows
    ):
        assert text_problems(fine, sources) == [], fine


def test_a_number_grouped_wrong_is_never_sent():
    # The 1.5B wrote the year's revenue 112219.83 as "1,122,19.83": the same digits.
    sources = Sources.of(["[year, SUM(total)] 2022, 112219.83; 2023, 172829.87"])
    assert text_problems("Revenue was 1,122,19.83 in 2022.", sources)
    for right in ("Revenue was 112,219.83 in 2022.", "Revenue was 112219.83 in 2022."):
        assert text_problems(right, sources) == [], right


@expert(description="Counts orders per customer segment.")
def orders_per_segment(text: str) -> ExpertResult:
    return ExpertResult(
        output={"columns": ["segment", "COUNT(*)"], "rows": [["gold", 156], ["regular", 1344]]},
        summary="[segment, COUNT(*)] gold, 156; regular, 1344",
        confidence=0.9,
    )


def test_an_answer_naming_an_expert_as_a_value_is_never_sent(make_podium):
    # The results block reads "[s1] orders_per_segment on ...": the 1.5B took the expert's
    # name (there: nl2sql) for the first row's segment.
    asked = "How many orders did each customer segment place?"
    podium = make_podium(
        plan_json(("s1", "orders_per_segment", asked)),
        "156 orders were placed by the segment 'orders_per_segment'. 1344 by 'regular'.",
        "Gold customers placed 156 orders and regular customers 1344.",
        experts=[orders_per_segment],
    )
    result = podium.run(asked)
    assert "orders_per_segment" not in _streamed(result)
    assert result.answer == "Gold customers placed 156 orders and regular customers 1344."
