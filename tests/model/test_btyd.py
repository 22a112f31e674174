"""BG/NBD: hand-computed summaries, planted-parameter recovery and the published estimates."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from kam_ml.problem.definition import ProblemDefinition
from kam_ml.science.btyd import BetaGeoModel, BGNBDParams, rfm_summary
from kam_ml.science.cdnow import CDNOW_SAMPLE, cached_cdnow, load_cdnow_tables
from tests.builders import tables_from_rows


def test_rfm_summary_by_hand() -> None:
    tables = tables_from_rows(
        accounts=[
            {"account_id": a, "signup_date": "2024-01-01", "manager": "m", "region": "r"}
            for a in ("A", "B", "C")
        ],
        orders=[
            {
                "order_id": "1",
                "account_id": "A",
                "order_date": "2024-01-01",
                "category": "x",
                "quantity": 1,
                "amount": 1.0,
            },
            {
                "order_id": "2",
                "account_id": "A",
                "order_date": "2024-01-01",
                "category": "y",
                "quantity": 1,
                "amount": 1.0,
            },  # same day: one purchase
            {
                "order_id": "3",
                "account_id": "A",
                "order_date": "2024-01-15",
                "category": "x",
                "quantity": 1,
                "amount": 1.0,
            },
            {
                "order_id": "4",
                "account_id": "B",
                "order_date": "2024-01-08",
                "category": "x",
                "quantity": 1,
                "amount": 1.0,
            },
            {
                "order_id": "5",
                "account_id": "A",
                "order_date": "2024-02-01",
                "category": "x",
                "quantity": 1,
                "amount": 1.0,
            },  # after the cutoff: invisible
            {
                "order_id": "6",
                "account_id": "C",
                "order_date": "2024-02-01",
                "category": "x",
                "quantity": 1,
                "amount": 1.0,
            },
        ],
    )
    summary = rfm_summary(tables, pd.Timestamp("2024-01-29"), ProblemDefinition())
    by_id = summary.set_index("account_id")
    assert list(by_id.index) == ["A", "B"]
    assert by_id.loc["A"].tolist() == [1.0, 2.0, 4.0]  # x=1, t_x=14 days, T=28 days
    assert by_id.loc["B"].tolist() == [0.0, 0.0, 3.0]


def _simulate(params: BGNBDParams, n: int, T: float, rng: np.random.Generator) -> pd.DataFrame:
    lam = rng.gamma(params.r, 1.0 / params.alpha, n)
    p = rng.beta(params.a, params.b, n)
    rows = []
    for i in range(n):
        t, last, x = 0.0, 0.0, 0
        while True:
            t += rng.exponential(1.0 / lam[i])
            if t > T:
                break
            x, last = x + 1, t
            if rng.random() < p[i]:
                break
        rows.append((x, last, T))
    return pd.DataFrame(rows, columns=["frequency", "recency", "T"])


def test_recovers_planted_parameters(seed: int) -> None:
    truth = BGNBDParams(r=0.5, alpha=5.0, a=0.8, b=2.5)
    data = _simulate(truth, 6000, 52.0, np.random.default_rng(seed))
    fitted = BetaGeoModel().fit(data).params_
    assert fitted.r == pytest.approx(truth.r, rel=0.2)
    assert fitted.alpha == pytest.approx(truth.alpha, rel=0.25)
    assert fitted.a == pytest.approx(truth.a, rel=0.4)
    assert fitted.b == pytest.approx(truth.b, rel=0.5)


def test_alive_and_expected_purchases_behave() -> None:
    model = BetaGeoModel()
    model.params_ = BGNBDParams(r=0.243, alpha=4.414, a=0.793, b=2.426)
    summary = pd.DataFrame(
        {"frequency": [0, 5, 5, 5], "recency": [0, 30, 10, 30], "T": [39, 39, 39, 39]}
    )
    alive = model.probability_alive(summary)
    assert alive[0] == 1.0  # no repeat purchase: BG/NBD cannot have seen a dropout
    assert alive[1] > alive[2]  # same frequency, more recent last purchase
    expected = model.expected_purchases(summary, 39.0)
    assert expected[1] > expected[2] > 0
    assert np.all(model.expected_purchases(summary, 78.0) > expected)


def test_not_fitted_is_named() -> None:
    from sklearn.exceptions import NotFittedError

    with pytest.raises(NotFittedError, match="BetaGeoModel"):
        BetaGeoModel().probability_alive(pd.DataFrame({"frequency": [0], "recency": [0], "T": [1]}))


def test_reproduces_fader_hardie_lee_2005_if_cached() -> None:
    """Opt-in: the 1/10 CDNOW sample, 39-week calibration from 1997-01-01 (paper, table 1)."""
    path = cached_cdnow(name=CDNOW_SAMPLE)
    if path is None:
        pytest.skip(
            "CDNOW is not cached (CDNOW_sample.txt); run make cdnow or "
            "kam_ml.science.cdnow.fetch_cdnow(name='CDNOW_sample.txt')"
        )
    tables = load_cdnow_tables(path)
    summary = rfm_summary(tables, pd.Timestamp("1997-09-30"), ProblemDefinition())
    model = BetaGeoModel().fit(summary)
    assert len(summary) == 2357
    got = model.params_
    assert (round(got.r, 3), round(got.alpha, 3), round(got.a, 3), round(got.b, 3)) == (
        0.243,
        4.414,
        0.793,
        2.426,
    )
    assert model.log_likelihood_ == pytest.approx(-9582.4, abs=0.1)
