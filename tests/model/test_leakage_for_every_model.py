"""The point-in-time alarm runs for the offer ranker and the value model too, not only churn.

Clean on the demo book; a planted leak (a feature that counts the label window at the
newest validation cutoff) fires and names the feature.
"""

from __future__ import annotations

from dataclasses import replace

from kam_ml.data.validation import validate_tables
from kam_ml.demo.generate import generate_demo_data
from kam_ml.offers.leakage import offer_leakage_alarms
from kam_ml.problem.definition import ProblemDefinition
from kam_ml.registry.gate import Skipped
from kam_ml.value.job import train_and_register_value, value_cutoffs
from kam_ml.value.leakage import value_leakage_alarms


def test_offers_are_clean_and_a_planted_leak_fires(offer_result, demo_tables) -> None:
    assert offer_leakage_alarms(offer_result, demo_tables) == ()
    pairs = offer_result.validation_pairs.copy()
    last = (pairs["cutoff"] == offer_result.split.validation_cutoffs[-1]).to_numpy()
    bought = offer_result.validation["bought"].to_numpy()
    pairs.loc[last, "cat_lines_90d"] += bought[last]
    (alarm,) = offer_leakage_alarms(replace(offer_result, validation_pairs=pairs), demo_tables)
    assert alarm.startswith("1 feature(s) change at cutoff") and "cat_lines_90d (" in alarm
    assert " pairs, e.g. " in alarm


def test_value_is_clean_and_a_planted_leak_fires(value_result, demo_tables) -> None:
    assert value_leakage_alarms(value_result, demo_tables) == ()
    features = value_result.validation_features.copy()
    last = features["cutoff"] == value_result.split.validation_cutoffs[-1]
    features.loc[last, "revenue_365d"] += value_result.validation.loc[last, "revenue_next_12m"]
    (alarm,) = value_leakage_alarms(
        replace(value_result, validation_features=features), demo_tables
    )
    assert "revenue_365d (" in alarm and " accounts, e.g. " in alarm


def test_a_book_too_short_for_value_skips_it_without_registering(tmp_path) -> None:
    demo = generate_demo_data(n_accounts=60, seed=2, years=1.0)
    raw = {"accounts": demo.accounts, "orders": demo.orders, "interactions": demo.interactions}
    tables = validate_tables(raw, on_bad_rows="quarantine").tables
    as_of, definition = tables.last_date(), ProblemDefinition()
    planned = value_cutoffs(tables, as_of, definition)
    assert isinstance(planned, Skipped) and planned.name == "kam-value"
    assert "cutoffs" in planned.reason
    store = object()  # never touched: nothing is trained, logged or registered
    outcome = train_and_register_value(
        tables,
        as_of,
        definition,
        store,
        tmp_path / "models",
        tmp_path / "reports",
    )
    assert outcome == planned
    assert not (tmp_path / "models").exists() and not (tmp_path / "reports").exists()
