"""Validation: one test per contract rule, structural errors, quarantine and invariants."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from kam_ml.data.contract import BOOLEAN_SPELLINGS, RowRule
from kam_ml.data.validation import QuarantineReport, validate_tables
from kam_ml.errors import BadRowsError, DataContractError

Raw = dict[str, pd.DataFrame]
AS_OF = pd.Timestamp("2024-12-31")  # after every date of the clean dataset


def add_row(raw: Raw, table: str, **values: str | None) -> None:
    """Append one row of text values (unnamed columns empty), as a CSV line would."""
    row = pd.DataFrame([values], dtype="str").reindex(columns=raw[table].columns)
    raw[table] = pd.concat([raw[table], row], ignore_index=True)


def set_value(raw: Raw, table: str, key: str, column: str, value: str | None) -> None:
    """Overwrite ``column`` in the rows of ``table`` whose key column equals ``key``."""
    frame = raw[table].copy()
    key_column = {"accounts": "account_id", "orders": "order_id"}[table]
    frame.loc[frame[key_column] == key, column] = value
    raw[table] = frame


def order(raw: Raw, order_id: str | None = "O-9", **values: str | None) -> None:
    """Append a valid order line of A-1, with ``values`` overriding single fields."""
    line = {
        "order_id": order_id,
        "account_id": "A-1",
        "order_date": "2024-06-01",
        "category": "bags",
        "quantity": "1",
        "amount": "10",
    }
    add_row(raw, "orders", **{**line, **values})


def event(raw: Raw, **values: str | None) -> None:
    line = {"account_id": "A-1", "event_date": "2024-06-01", "event_type": "ticket", "value": "2"}
    add_row(raw, "interactions", **{**line, **values})


def account(raw: Raw, **values: str | None) -> None:
    line = {"account_id": "A-5", "signup_date": "2023-05-01", "manager": "Ana", "region": "EMEA"}
    add_row(raw, "accounts", **{**line, **values})


def _three_negative_amounts(raw: Raw) -> None:
    for order_id in ("O-17", "O-22", "O-90"):
        order(raw, order_id, amount="-1")


def _three_bad_quantities(raw: Raw) -> None:
    for order_id, quantity in (("O-9", "0"), ("O-10", "1.5"), ("O-11", "many")):
        order(raw, order_id, quantity=quantity)


# (rule, how to break it, the exact line the report must print)
RULE_CASES: list[tuple[RowRule, Callable[[Raw], None], str]] = [
    (
        RowRule.ACCOUNT_ID_EMPTY,
        lambda r: account(r, account_id=None),
        "accounts.account_id must be non-empty: 1 row breaks it (account_id row 5).",
    ),
    (
        RowRule.ACCOUNT_ID_DUPLICATE,
        lambda r: account(r, account_id="A-2"),
        "accounts.account_id must be unique: 1 row breaks it (account_id A-2).",
    ),
    (
        RowRule.SIGNUP_DATE_INVALID,
        lambda r: account(r, signup_date="someday"),
        "accounts.signup_date must be a valid date: 1 row breaks it (account_id A-5).",
    ),
    (
        RowRule.SIGNUP_AFTER_FIRST_ORDER,
        lambda r: set_value(r, "accounts", "A-2", "signup_date", "2024-02-01"),
        "accounts.signup_date must not be after the account's first order: 1 row breaks it "
        "(account_id A-2); signup_date set to the first order date.",
    ),
    (
        RowRule.ORDER_ID_EMPTY,
        lambda r: order(r, None),
        "orders.order_id must be non-empty: 1 row breaks it (order_id row 9).",
    ),
    (
        RowRule.ORDER_ACCOUNT_UNKNOWN,
        lambda r: order(r, account_id="A-9"),
        "orders.account_id must exist in accounts: 1 row breaks it (order_id O-9).",
    ),
    (
        RowRule.ORDER_DATE_INVALID,
        lambda r: order(r, order_date="yesterday"),
        "orders.order_date must be a valid timestamp: 1 row breaks it (order_id O-9).",
    ),
    (
        RowRule.ORDER_DATE_AFTER_AS_OF,
        lambda r: order(r, order_date="2031-06-01"),
        "orders.order_date must not be after the as-of date: 1 row breaks it (order_id O-9).",
    ),
    (
        RowRule.ORDER_CATEGORY_EMPTY,
        lambda r: order(r, category="  "),
        "orders.category must be non-empty: 1 row breaks it (order_id O-9).",
    ),
    (
        RowRule.QUANTITY_INVALID,
        _three_bad_quantities,
        "orders.quantity must be an integer > 0: 3 rows break it (order_id O-9, O-10, O-11).",
    ),
    (
        RowRule.AMOUNT_NOT_NUMBER,
        lambda r: order(r, amount="12,50"),
        "orders.amount must be a number: 1 row breaks it (order_id O-9).",
    ),
    (
        RowRule.AMOUNT_NEGATIVE,
        _three_negative_amounts,
        "orders.amount must be >= 0: 3 rows break it (order_id O-17, O-22, O-90).",
    ),
    (
        RowRule.AMOUNT_ABSURD,
        lambda r: order(r, amount="1e308"),
        "orders.amount must be at most 1e12: 1 row breaks it (order_id O-9).",
    ),
    (
        RowRule.RETURNED_INVALID,
        lambda r: order(r, returned="maybe"),
        "orders.returned must be a boolean (true/false, yes/no, 1/0): 1 row breaks it "
        "(order_id O-9).",
    ),
    (
        RowRule.RETURN_DATE_INVALID,
        lambda r: order(r, returned="yes", return_date="soon"),
        "orders.return_date must be a valid timestamp: 1 row breaks it (order_id O-9).",
    ),
    (
        RowRule.RETURN_BEFORE_ORDER,
        lambda r: order(r, returned="yes", return_date="2024-05-31 23:00:00"),
        "orders.return_date must not be before order_date: 1 row breaks it (order_id O-9).",
    ),
    (
        RowRule.INTERACTION_ACCOUNT_UNKNOWN,
        lambda r: event(r, account_id="A-9"),
        "interactions.account_id must exist in accounts: 1 row breaks it (account_id A-9 row 5).",
    ),
    (
        RowRule.EVENT_DATE_INVALID,
        lambda r: event(r, event_date="never"),
        "interactions.event_date must be a valid timestamp: 1 row breaks it "
        "(account_id A-1 row 5).",
    ),
    (
        RowRule.EVENT_DATE_AFTER_AS_OF,
        lambda r: event(r, event_date="2262-04-11"),
        "interactions.event_date must not be after the as-of date: 1 row breaks it "
        "(account_id A-1 row 5).",
    ),
    (
        RowRule.EVENT_TYPE_EMPTY,
        lambda r: event(r, event_type=None),
        "interactions.event_type must be non-empty: 1 row breaks it (account_id A-1 row 5).",
    ),
    (
        RowRule.VALUE_NOT_NUMBER,
        lambda r: event(r, value="fast"),
        "interactions.value must be a number: 1 row breaks it (account_id A-1 row 5).",
    ),
    (
        RowRule.VALUE_ABSURD,
        lambda r: event(r, event_type="complaint", value="-1e300"),
        "interactions.value must be at most 1e12 in absolute value: 1 row breaks it "
        "(account_id A-1 row 5).",
    ),
    (
        RowRule.NPS_OUT_OF_RANGE,
        lambda r: event(r, event_type="nps", value="11"),
        "interactions.value must be in 0..10 for nps events: 1 row breaks it "
        "(account_id A-1 row 5).",
    ),
    (
        RowRule.TICKET_NEGATIVE,
        lambda r: event(r, value="-2"),
        "interactions.value must be >= 0 for ticket events: 1 row breaks it "
        "(account_id A-1 row 5).",
    ),
    (
        RowRule.CATEGORY_EMPTY,
        lambda r: add_row(r, "categories", category=None, margin_rate="0.1"),
        "categories.category must be non-empty: 1 row breaks it (category row 4).",
    ),
    (
        RowRule.CATEGORY_DUPLICATE,
        lambda r: add_row(r, "categories", category="bags", margin_rate="0.1"),
        "categories.category must be unique: 1 row breaks it (category bags).",
    ),
    (
        RowRule.MARGIN_OUT_OF_RANGE,
        lambda r: add_row(r, "categories", category="belts", margin_rate="1.5"),
        "categories.margin_rate must be a number in [0, 1]: 1 row breaks it (category belts).",
    ),
]


def test_every_row_rule_has_a_case() -> None:
    assert [case[0] for case in RULE_CASES] == list(RowRule)


@pytest.mark.parametrize(
    ("rule", "breaks", "line"), RULE_CASES, ids=[c[0].name.lower() for c in RULE_CASES]
)
def test_rule_is_reported_with_table_column_rule_count_and_examples(
    raw: Raw, rule: RowRule, breaks: Callable[[Raw], None], line: str
) -> None:
    breaks(raw)
    report = validate_tables(raw, not_after=AS_OF).report

    assert str(report).splitlines()[0] == line
    assert [(v.table, v.column, v.rule) for v in report.violations] == [
        (rule.table, rule.column, rule.text)
    ]
    quarantined = report.quarantined[rule.table]
    expected_rows = 0 if rule.repair else report.violations[0].count
    assert len(quarantined) == expected_rows
    assert (quarantined["rule"] == str(rule)).all()


def test_clean_data_gives_a_clean_report(raw: Raw) -> None:
    report = validate_tables(raw, on_bad_rows="refuse").report
    assert report.is_clean
    assert report.summary().empty
    assert "nothing was quarantined" in str(report)


def test_refuse_raises_one_error_listing_every_broken_rule(raw: Raw) -> None:
    for _, breaks, _ in RULE_CASES:
        breaks(raw)
    with pytest.raises(BadRowsError, match="on_bad_rows='refuse'") as error:
        validate_tables(raw, on_bad_rows="refuse", not_after=AS_OF)
    for rule in RowRule:
        assert f"\n{rule}: " in str(error.value)


def test_quarantine_keeps_good_rows_and_every_input_row_is_accounted_for(raw: Raw) -> None:
    for _, breaks, _ in RULE_CASES:
        breaks(raw)
    result = validate_tables(raw, not_after=AS_OF)
    for table in ("accounts", "orders", "interactions"):
        kept = len(getattr(result.tables, table))
        assert kept + result.report.quarantined_rows(table) == len(raw[table]), table
    catalogue = result.tables.categories.iloc[:3]  # then "belts", added from the orders
    assert len(catalogue) + result.report.quarantined_rows("categories") == len(raw["categories"])
    assert len(result.tables.orders) == 8  # the clean lines all survive
    assert set(result.tables.orders["order_id"]) == {f"O-{i}" for i in range(1, 9)}


_CORRUPTIONS = {
    "account_id": "A-404",
    "quantity": "-1",
    "amount": "free",
    "order_date": "2024-13-01",
    "returned": "perhaps",
}


@settings(max_examples=40, deadline=None)
@given(st.lists(st.tuples(st.integers(0, 7), st.sampled_from(sorted(_CORRUPTIONS)))))
def test_any_corruption_of_orders_loses_no_row(
    fresh_tables: Callable[[], Raw], breaks: list[tuple[int, str]]
) -> None:
    raw = fresh_tables()
    orders = raw["orders"].copy()
    for row, column in breaks:
        orders.loc[row, column] = _CORRUPTIONS[column]
    raw["orders"] = orders
    bad_rows = {row for row, _ in breaks}
    if len(bad_rows) == len(orders):
        return  # nothing valid left is structural, tested below
    for column in {column for _, column in breaks} & {"amount", "order_date", "returned"}:
        present = orders[column].dropna()
        if len(present) and (present == _CORRUPTIONS[column]).all():
            return  # a column none of whose values parse is structural, tested below
    result = validate_tables(raw)
    quarantined = result.report.quarantined["orders"]
    assert sorted(quarantined["row"] - 1) == sorted(bad_rows)
    assert len(result.tables.orders) + len(quarantined) == len(orders)
    assert sum(v.count for v in result.report.violations) >= len(bad_rows)


def test_quarantined_rows_keep_raw_values_row_numbers_and_every_broken_rule(raw: Raw) -> None:
    order(raw, account_id="A-9", amount="-3", quantity="0")
    quarantined = validate_tables(raw).report.quarantined["orders"]

    assert quarantined.loc[0, "amount"] == "-3"
    assert quarantined.loc[0, "row"] == 9
    assert quarantined.loc[0, "rule"] == (
        "orders.account_id must exist in accounts; orders.quantity must be an integer > 0; "
        "orders.amount must be >= 0"
    )


def test_a_quarantined_account_takes_its_orders_and_events_into_quarantine(raw: Raw) -> None:
    set_value(raw, "accounts", "A-1", "signup_date", "not a date")
    result = validate_tables(raw)
    lines = str(result.report).splitlines()

    assert "orders.account_id must exist in accounts: 2 rows break it (order_id O-1, O-2)." in lines
    assert (
        "interactions.account_id must exist in accounts: 2 rows break it "
        "(account_id A-1 row 1, A-1 row 4)."
    ) in lines
    assert "A-1" not in set(result.tables.orders["account_id"])
    assert list(result.report.quarantined["orders"]["order_id"]) == ["O-1", "O-2"]
    assert len(result.tables.interactions) + 2 == len(raw["interactions"])


def test_signup_after_first_order_is_moved_to_that_day_and_the_account_kept(raw: Raw) -> None:
    set_value(raw, "accounts", "A-3", "signup_date", "2024-03-01")
    set_value(raw, "orders", "O-5", "order_date", "2024-02-14 16:45:00")
    tables = validate_tables(raw).tables
    accounts = tables.accounts.set_index("account_id")
    assert accounts.loc["A-3", "signup_date"] == pd.Timestamp("2024-02-14")
    assert (tables.orders["account_id"] == "A-3").sum() == 2


def test_output_holds_the_tables_invariants(raw: Raw) -> None:
    tables = validate_tables(raw).tables
    accounts, orders, events = tables.accounts, tables.orders, tables.interactions

    assert accounts["account_id"].is_unique
    assert accounts["signup_date"].dtype == "datetime64[ns]"
    assert list(accounts["manager"]) == ["Ana", "Ben", "unassigned", "Ana"]
    assert list(accounts["segment"]) == ["gold", "silver", "platinum", "unknown"]
    for frame in (orders, events):
        assert isinstance(frame["account_id"].dtype, pd.CategoricalDtype)
        assert list(frame["account_id"].cat.categories) == list(accounts["account_id"])
    expected = {
        "order_date": "datetime64[ns]",
        "quantity": "int64",
        "amount": "float64",
        "returned": "bool",
        "return_date": "datetime64[ns]",
    }
    assert {c: str(orders[c].dtype) for c in expected} == expected
    assert list(orders["returned"]) == [False, True, False, False, False, True, False, False]
    assert orders.loc[1, "order_date"] == pd.Timestamp("2024-02-10 10:30:00")
    assert orders["product_id"].tolist()[:2] == ["P-1", "P-2"]
    assert events["event_date"].dtype == "datetime64[ns]"
    assert events["value"].dtype == "float64" and np.isnan(events.loc[0, "value"])
    categories = tables.categories
    assert categories["category"].is_unique
    assert categories["margin_rate"].between(0, 1).all()


def test_ordered_category_missing_from_the_catalogue_gets_margin_one_silently(raw: Raw) -> None:
    result = validate_tables(raw)
    margins = result.tables.categories.set_index("category")["margin_rate"]
    assert margins.to_dict() == {"bags": 0.4, "shoes": 0.35, "watches": 0.25, "belts": 1.0}
    assert result.report.is_clean


def test_category_labels_come_from_the_catalogue_else_from_the_code(raw: Raw) -> None:
    raw["categories"] = raw["categories"].assign(label=["Leather bags", "  ", None])
    raw["orders"].loc[0, "category"] = "ready_to_wear"
    result = validate_tables(raw)
    labels = result.tables.categories.set_index("category")["label"].to_dict()
    assert labels == {
        "bags": "Leather bags",
        "shoes": "Shoes",  # blank and missing labels fall back to the code made readable
        "watches": "Watches",
        "ready_to_wear": "Ready to wear",  # ordered, not in the catalogue
        "belts": "Belts",
    }
    assert result.report.is_clean


def test_a_catalogue_without_labels_names_categories_by_their_code(raw: Raw) -> None:
    labels = validate_tables(raw).tables.categories["label"].tolist()
    assert labels == ["Bags", "Shoes", "Watches", "Belts"]
    del raw["categories"]
    assert validate_tables(raw).tables.categories.set_index("category")["label"].to_dict() == {
        "bags": "Bags",
        "belts": "Belts",
        "shoes": "Shoes",
        "watches": "Watches",
    }


def test_absent_optional_tables_and_columns_get_the_documented_defaults(raw: Raw) -> None:
    raw["accounts"] = raw["accounts"].drop(columns=["manager", "segment"])
    raw["orders"] = raw["orders"].drop(columns=["product_id", "returned", "return_date"])
    del raw["interactions"], raw["categories"]
    tables = validate_tables(raw).tables

    assert set(tables.accounts["manager"]) == {"unassigned"}
    assert set(tables.accounts["segment"]) == {"unknown"}
    assert "product_id" not in tables.orders
    assert not tables.orders["returned"].any()
    assert tables.orders["return_date"].isna().all()
    assert tables.interactions.empty
    assert list(tables.interactions.columns) == ["account_id", "event_date", "event_type", "value"]
    assert tables.interactions["event_date"].dtype == "datetime64[ns]"
    assert list(tables.interactions["account_id"].cat.categories) == ["A-1", "A-2", "A-3", "A-4"]
    assert tables.categories["category"].tolist() == ["bags", "belts", "shoes", "watches"]
    assert (tables.categories["margin_rate"] == 1.0).all()


def test_a_missing_returned_flag_with_a_return_date_means_returned(raw: Raw) -> None:
    set_value(raw, "orders", "O-3", "return_date", "2024-02-01")
    orders = validate_tables(raw).tables.orders.set_index("order_id")
    assert orders.loc["O-3", "returned"]
    assert not orders.loc["O-5", "returned"]


@pytest.mark.parametrize(("spelling", "meaning"), sorted(BOOLEAN_SPELLINGS.items()))
def test_boolean_spellings_are_accepted_in_any_case(raw: Raw, spelling: str, meaning: bool) -> None:
    order(raw, returned=f" {spelling.upper()} ")
    assert validate_tables(raw, on_bad_rows="refuse").tables.orders["returned"].iloc[-1] == meaning


def test_text_is_stripped_and_event_types_lower_cased(raw: Raw) -> None:
    event(raw, account_id=" A-2 ", event_type=" NPS ", value="7")
    events = validate_tables(raw, on_bad_rows="refuse").tables.interactions
    assert (events["account_id"].iloc[-1], events["event_type"].iloc[-1]) == ("A-2", "nps")


def test_timestamps_become_naive_utc(raw: Raw) -> None:
    order(raw, order_date="2024-06-01T12:00:00+02:00")
    order(raw, "O-10", order_date="2024-06-01T12:00:00Z")
    dates = validate_tables(raw, on_bad_rows="refuse").tables.orders["order_date"]
    assert list(dates.iloc[-2:]) == [
        pd.Timestamp("2024-06-01 10:00"),
        pd.Timestamp("2024-06-01 12:00"),
    ]


def test_tz_aware_timestamp_columns_become_naive_utc(raw: Raw) -> None:
    dates = pd.to_datetime(raw["orders"]["order_date"], format="ISO8601")
    dates = dates.dt.tz_localize("Europe/Berlin")
    raw["orders"] = raw["orders"].assign(order_date=dates)
    orders = validate_tables(raw).tables.orders
    assert orders["order_date"].dtype == "datetime64[ns]"
    assert orders.loc[0, "order_date"] == pd.Timestamp("2024-01-04 23:00")


def test_timestamps_keep_whole_microseconds(raw: Raw) -> None:
    order(raw, order_date="2024-06-01T12:00:00.123456789")
    dates = validate_tables(raw, on_bad_rows="refuse").tables.orders["order_date"]
    assert dates.iloc[-1] == pd.Timestamp("2024-06-01 12:00:00.123456")
    assert dates.dtype == "datetime64[ns]"


def test_dates_outside_the_nanosecond_range_are_row_problems(raw: Raw) -> None:
    order(raw, order_date="3024-01-01")
    report = validate_tables(raw).report
    assert [v.rule for v in report.violations] == ["must be a valid timestamp"]


def test_extra_columns_are_kept(raw: Raw) -> None:
    raw["orders"] = raw["orders"].assign(channel="web")
    assert set(validate_tables(raw).tables.orders["channel"]) == {"web"}


# -- structural problems -----------------------------------------------------------------


@pytest.mark.parametrize("table", ["accounts", "orders"])
def test_missing_required_table_is_refused_by_name(raw: Raw, table: str) -> None:
    del raw[table]
    with pytest.raises(DataContractError, match=f"Required table '{table}' is missing"):
        validate_tables(raw)


@pytest.mark.parametrize(
    ("table", "column"),
    [
        ("accounts", "signup_date"),
        ("orders", "quantity"),
        ("interactions", "event_type"),
        ("categories", "margin_rate"),
    ],
)
def test_missing_required_column_is_refused_by_name(raw: Raw, table: str, column: str) -> None:
    raw[table] = raw[table].drop(columns=[column])
    with pytest.raises(DataContractError, match=f"{table} is missing required column '{column}'"):
        validate_tables(raw)


def test_a_column_where_no_value_parses_is_structural(raw: Raw) -> None:
    raw["orders"] = raw["orders"].assign(order_date=["yesterday", "n/a?"] * 4)
    with pytest.raises(DataContractError) as error:
        validate_tables(raw, on_bad_rows="quarantine")
    assert str(error.value) == (
        "orders.order_date must be a timestamp: none of 8 values parse "
        "(examples: 'yesterday', 'n/a?')."
    )


def test_a_column_of_an_impossible_dtype_is_structural(raw: Raw) -> None:
    raw["orders"] = raw["orders"].assign(amount=pd.Timestamp("2024-01-01"))
    with pytest.raises(
        DataContractError,
        match=r"orders.amount must be a number: none of 8 "
        r"values parse \(examples: 2024-01-01 00:00:00; column dtype datetime64",
    ):
        validate_tables(raw)


def test_nothing_valid_left_is_structural(raw: Raw) -> None:
    raw["orders"] = raw["orders"].assign(account_id="A-9")
    with pytest.raises(DataContractError, match="orders has no valid rows: 8 of 8 rows"):
        validate_tables(raw)


def test_an_empty_required_table_is_structural(raw: Raw) -> None:
    raw["orders"] = raw["orders"].iloc[:0]
    with pytest.raises(DataContractError, match="orders has no rows; the contract needs"):
        validate_tables(raw)


def test_unknown_on_bad_rows_mode_is_named(raw: Raw) -> None:
    with pytest.raises(ValueError, match="'on_bad_rows' of validate_tables must be"):
        validate_tables(raw, on_bad_rows="ignore")  # type: ignore[arg-type]


# -- the report ---------------------------------------------------------------------------


def test_report_writes_a_summary_and_the_quarantined_rows(raw: Raw, tmp_path: Path) -> None:
    _three_negative_amounts(raw)
    report: QuarantineReport = validate_tables(raw).report
    written = report.write(tmp_path / "quarantine")

    assert [p.name for p in written] == ["quarantine_summary.csv", "orders_quarantined.csv"]
    summary = pd.read_csv(written[0])
    assert list(summary.columns) == ["table", "column", "rule", "rows", "examples", "action"]
    assert summary.loc[0, ["table", "column", "rows"]].tolist() == ["orders", "amount", 3]
    assert summary.loc[0, "examples"] == "O-17, O-22, O-90"
    rows = pd.read_csv(written[1], dtype=str)
    assert rows["order_id"].tolist() == ["O-17", "O-22", "O-90"]
    assert set(rows["rule"]) == {"orders.amount must be >= 0"}


def test_the_as_of_day_itself_is_plausible_to_its_last_second(raw: Raw) -> None:
    order(raw, order_date="2024-12-31 23:59:59")
    order(raw, "O-10", order_date="2025-01-01 00:00:00")
    report = validate_tables(raw, not_after=AS_OF).report
    assert [(v.rule, v.examples) for v in report.violations] == [
        (RowRule.ORDER_DATE_AFTER_AS_OF.text, ("O-10",))
    ]


def test_future_rows_do_not_move_the_default_as_of_date(raw: Raw) -> None:
    order(raw, order_date="2031-06-01")
    event(raw, event_date="2262-04-11")
    assert validate_tables(raw).tables.last_date() == pd.Timestamp("2262-04-11")
    tables = validate_tables(raw, not_after=AS_OF).tables
    assert tables.last_date() == pd.Timestamp("2024-05-06")


def test_an_amount_of_a_trillion_is_kept_and_one_above_it_is_not(raw: Raw) -> None:
    order(raw, amount="1e12")
    order(raw, "O-10", amount="1.000001e12")
    order(raw, "O-11", amount="inf")
    report = validate_tables(raw).report
    assert [(v.rule, v.examples) for v in report.violations] == [
        (RowRule.AMOUNT_NOT_NUMBER.text, ("O-11",)),
        (RowRule.AMOUNT_ABSURD.text, ("O-10",)),
    ]
