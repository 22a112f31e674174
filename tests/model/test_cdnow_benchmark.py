"""The CDNOW benchmark protocol on a simulated BG/NBD customer base (no download needed)."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from kam_ml.churn.model import ChurnModel
from kam_ml.data.tables import Tables
from kam_ml.data.validation import validate_tables
from kam_ml.science.cdnow_benchmark import (
    SCORERS,
    BenchmarkSetting,
    benchmark_markdown,
    paired_auc_difference,
    run_churn_benchmark,
)


def _simulated_cohort(n: int, seed: int) -> Tables:
    """A CDNOW-shaped cohort: first purchases in Q1 1997, BG/NBD behaviour to 1998-06-30."""
    rng = np.random.default_rng(seed)
    start, end = pd.Timestamp("1997-01-01"), pd.Timestamp("1998-06-30")
    rows = []
    for i in range(n):
        day = float(rng.integers(0, 84))
        rate, dropout = rng.gamma(0.6, 1 / 40), rng.beta(0.8, 3.0)
        while day <= (end - start).days:
            rows.append((f"C{i:04d}", start + pd.Timedelta(days=int(day)), rng.integers(1, 4)))
            if rng.random() < dropout:
                break
            day += rng.exponential(1 / rate)
    orders = pd.DataFrame(rows, columns=["account_id", "order_date", "quantity"])
    orders["order_id"] = [f"O{i}" for i in range(len(orders))]
    orders["category"] = "music"
    orders["amount"] = orders["quantity"] * 12.5
    first = orders.groupby("account_id")["order_date"].min()
    accounts = pd.DataFrame(
        {
            "account_id": first.index,
            "signup_date": first.to_numpy(),
            "manager": "unassigned",
            "region": "unknown",
        }
    )
    return validate_tables({"accounts": accounts, "orders": orders}, on_bad_rows="refuse").tables


def test_benchmark_runs_every_scorer(seed: int) -> None:
    tables = _simulated_cohort(900, seed)
    setting = BenchmarkSetting(pd.Timestamp("1998-01-31"), 90)
    results = run_churn_benchmark(
        tables, [setting], make_model=lambda: ChurnModel(n_estimators=40, min_child_samples=20)
    )
    assert list(results["scorer"]) == list(SCORERS)
    assert results["roc_auc"].between(0, 1).all() and results["pr_auc"].between(0, 1).all()
    by = results.set_index("scorer")["roc_auc"]
    assert by["churn_model"] > 0.6 and by["bgnbd_expected_purchases"] > 0.6  # both find signal
    table = benchmark_markdown(results)
    assert table.count("\n") == 2 and "**" in table and "1998-01-31 | 90 |" in table


def test_paired_auc_difference_brackets_the_truth() -> None:
    rng = np.random.default_rng(0)
    y = rng.integers(0, 2, 2000)
    good, noise = y + rng.normal(0, 0.5, 2000), rng.normal(0, 1, 2000)
    low, high = paired_auc_difference(y, good, noise, n_boot=100)
    assert 0.2 < low < high < 0.5
    low, high = paired_auc_difference(y, good, good, n_boot=20)
    assert low == pytest.approx(0.0) and high == pytest.approx(0.0)
