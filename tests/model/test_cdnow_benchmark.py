"""The CDNOW benchmark protocol on a simulated BG/NBD customer base (no download needed).

The benchmark must score exactly what ``kam-ml train`` then ``kam-ml score`` write: the
last test runs the real CLI on the simulated cohort and compares every probability.
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from kam_ml.churn.model import ChurnModel
from kam_ml.data.tables import Tables
from kam_ml.data.validation import validate_tables
from kam_ml.problem.definition import ProblemDefinition
from kam_ml.science.cdnow_benchmark import (
    SCORERS,
    BenchmarkSetting,
    benchmark_markdown,
    btyd_oracle_check,
    forward_churn_scores,
    oracle_markdown,
    paired_auc_difference,
    run_churn_benchmark,
)

AS_OF = pd.Timestamp("1998-01-31")


def _small_model() -> ChurnModel:
    return ChurnModel(n_estimators=40, min_child_samples=20)


def _simulated_cohort(n: int, seed: int) -> dict[str, pd.DataFrame]:
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
    return {"accounts": accounts, "orders": orders}


def _tables(raw: dict[str, pd.DataFrame]) -> Tables:
    return validate_tables(raw, on_bad_rows="refuse").tables


def test_benchmark_runs_every_scorer(seed: int) -> None:
    tables = _tables(_simulated_cohort(900, seed))
    setting = BenchmarkSetting(AS_OF, 90)
    timed: list[float] = []
    results = run_churn_benchmark(
        tables, [setting], make_model=_small_model, on_setting_done=lambda _, s: timed.append(s)
    )
    assert list(results["scorer"]) == list(SCORERS) and len(timed) == 1
    assert results["roc_auc"].between(0, 1).all() and results["pr_auc"].between(0, 1).all()
    by = results.set_index("scorer")["roc_auc"]
    assert by["churn_model"] > 0.6 and by["bgnbd_expected_purchases"] > 0.6  # both find signal
    model = results.set_index("scorer").loc["churn_model"]
    assert model["delta_vs_bgnbd_low"] <= model["delta_vs_bgnbd_high"]
    assert model["refit_cutoffs"] > model["train_cutoffs"] >= 2  # refit on every labelled one
    table = benchmark_markdown(results)
    assert table.count("\n") == 2 and "**" in table and "1998-01-31 | 90 |" in table


def test_forward_scores_are_the_accounts_active_at_t_with_their_outcome(seed: int) -> None:
    raw = _simulated_cohort(600, seed)
    definition = ProblemDefinition()
    forward = forward_churn_scores(_tables(raw), AS_OF, definition, model=_small_model())
    orders = raw["orders"]
    known = orders[orders["order_date"] <= AS_OF]
    active = set(known.loc[known["order_date"] > AS_OF - pd.Timedelta(days=365), "account_id"])
    later = orders[
        (orders["order_date"] > AS_OF) & (orders["order_date"] <= AS_OF + pd.Timedelta(days=90))
    ]
    scores = forward.scores
    assert set(scores["account_id"]) == active
    assert (scores["churned"] == ~scores["account_id"].isin(set(later["account_id"]))).all()
    assert (scores["as_of"] == AS_OF).all() and scores["churn_probability"].between(0, 1).all()
    assert forward.layout.cutoffs[-1] + pd.Timedelta(days=90) <= AS_OF  # labels end by T


def test_the_second_book_line_has_both_oracles() -> None:
    check = btyd_oracle_check(n_accounts=500, seed=3, make_model=_small_model)
    by = check.set_index("scorer")
    assert list(by.index) == [
        "latent_oracle",
        "history_oracle",
        "churn_model",
        "bgnbd_expected_purchases",
        "bgnbd_p_alive",
        "recency",
    ]
    assert by.loc["latent_oracle", "of_latent_oracle"] == 1.0
    assert by.loc["history_oracle", "of_history_oracle"] == 1.0
    assert by.loc["history_oracle", "roc_auc"] < by.loc["latent_oracle", "roc_auc"]
    assert by.loc["churn_model", "roc_auc"] > 0.65
    assert (check["as_of"] == "2026-08-02").all()  # 90 days before the book's end
    assert oracle_markdown(check).count("\n") == 7


def test_paired_auc_difference_brackets_the_truth() -> None:
    rng = np.random.default_rng(0)
    y = rng.integers(0, 2, 2000)
    good, noise = y + rng.normal(0, 0.5, 2000), rng.normal(0, 1, 2000)
    low, high = paired_auc_difference(y, good, noise, n_boot=100)
    assert 0.2 < low < high < 0.5
    low, high = paired_auc_difference(y, good, good, n_boot=20)
    assert low == pytest.approx(0.0) and high == pytest.approx(0.0)


@pytest.mark.slow
def test_benchmark_scores_are_what_the_cli_writes(tmp_path: Path, seed: int) -> None:
    """``kam-ml train`` + ``kam-ml score`` (a subprocess, an MLflow SQLite store, the
    bundle's pickle round trip) and ``forward_churn_scores`` give the same probabilities."""
    raw = _simulated_cohort(700, seed)
    (tmp_path / "data").mkdir()
    for name, frame in raw.items():
        frame.to_parquet(tmp_path / "data" / f"{name}.parquet", index=False)
    env = os.environ | {"MLFLOW_TRACKING_URI": f"sqlite:///{tmp_path / 'mlflow.db'}"}
    window = ["--as-of", str(AS_OF.date()), "--horizon-days", "90"]
    said = []
    for command in (["train"], ["score", "--out", "scores.parquet"]):
        done = subprocess.run(
            [sys.executable, "-m", "kam_ml", *command, "--data", "data", *window],
            cwd=tmp_path,
            env=env,
            capture_output=True,
            text=True,
            timeout=600,
        )
        said.append(" ".join((done.stdout + done.stderr).split()))  # rich wraps lines
        assert done.returncode == 0, said[-1]
    cli = pd.read_parquet(tmp_path / "scores.parquet")
    forward = forward_churn_scores(_tables(raw), AS_OF, ProblemDefinition()).scores
    assert list(cli["account_id"]) == list(forward["account_id"])
    np.testing.assert_array_equal(cli["churn_probability"], forward["churn_probability"])
    # one category (music): no offer model to train, none to score with
    trained, scored = said
    assert "kam-offers skipped: the book has 1 category (music)" in trained
    assert "Offer ranker" not in trained
    assert "scoring without kam-offers: the book has 1 category (music)" in scored
    assert cli["offers"].isna().all() and cli["offers_model_version"].isna().all()
