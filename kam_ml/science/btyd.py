"""BG/NBD ("buy till you die"), the textbook customer-base model, fitted by maximum likelihood.

Fader, Hardie & Lee (2005), "Counting your customers the easy way: an alternative to the
Pareto/NBD model", Marketing Science 24(2). While alive a customer buys as a Poisson
process with rate lambda ~ Gamma(r, alpha); after each purchase she drops out with
probability p ~ Beta(a, b). Three numbers per customer are sufficient: ``frequency`` x
(repeat purchases), ``recency`` t_x (time of the last purchase, from the first) and ``T``
(time from the first purchase to the end of the calibration period).

Implemented here rather than imported: ``lifetimes`` (archived since 2020) fits, but warns
at import under pandas 3 and reads its data through ``pkg_resources``; ``btyd`` pins
autograd 1.4, which no longer imports on Python 3.11; ``pymc-marketing`` brings PyMC and
PyTensor for a four-parameter likelihood. The likelihood is short and published, and the
tests check it reproduces the paper's estimates on the CDNOW sample.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd
from scipy.optimize import minimize
from scipy.special import betaln, gammaln, hyp2f1
from sklearn.base import BaseEstimator
from sklearn.utils.validation import check_is_fitted

from kam_ml.data.tables import Tables, account_codes
from kam_ml.problem.definition import ProblemDefinition

__all__ = ["BetaGeoModel", "BGNBDParams", "rfm_summary"]

SUMMARY_COLUMNS = ("frequency", "recency", "T")


@dataclass(frozen=True)
class BGNBDParams:
    """Fitted BG/NBD parameters, in the time unit the model was fitted in."""

    r: float
    alpha: float
    a: float
    b: float

    def as_dict(self) -> dict[str, float]:
        return {"r": self.r, "alpha": self.alpha, "a": self.a, "b": self.b}


class BetaGeoModel(BaseEstimator):
    """BG/NBD fitted by maximum likelihood on a (frequency, recency, T) summary.

    penalizer: L2 penalty on the four parameters (lifetimes' ``penalizer_coef``); 0 gives
    the plain MLE that the paper reports.
    """

    def __init__(self, *, penalizer: float = 0.0) -> None:
        self.penalizer = penalizer

    def fit(self, summary: pd.DataFrame) -> BetaGeoModel:
        """Maximise the log-likelihood over log-parameters (keeps all four positive)."""
        x, t_x, T = _summary_arrays(summary)
        if len(x) == 0:
            raise ValueError("BetaGeoModel.fit needs at least one customer.")
        # Identical (x, t_x, T) triples share a likelihood term: weight them once.
        triples, weights = np.unique(np.column_stack([x, t_x, T]), axis=0, return_counts=True)
        start = np.log([1.0, max(float(np.mean(T)), 1e-3), 1.0, 1.0])

        def objective(log_params: np.ndarray) -> float:
            params = np.exp(log_params)
            ll = _log_likelihood(params, triples[:, 0], triples[:, 1], triples[:, 2])
            penalty = self.penalizer * float(np.sum(params**2))
            return -float(np.dot(weights, ll)) / weights.sum() + penalty

        solution = minimize(
            objective,
            start,
            method="Nelder-Mead",
            options={"xatol": 1e-7, "fatol": 1e-10, "maxiter": 20000},
        )
        solution = minimize(objective, solution.x, method="L-BFGS-B")
        r, alpha, a, b = np.exp(solution.x)
        self.params_ = BGNBDParams(float(r), float(alpha), float(a), float(b))
        self.log_likelihood_ = -float(solution.fun) * float(weights.sum())
        self.n_customers_ = int(weights.sum())
        return self

    def probability_alive(self, summary: pd.DataFrame) -> np.ndarray:
        """P(still alive at T | x, t_x, T); 1 for customers with no repeat purchase."""
        check_is_fitted(self, "params_")
        x, t_x, T = _summary_arrays(summary)
        r, alpha, a, b = self._params()
        return 1.0 / (1.0 + _dropout_odds(x, t_x, T, r, alpha, a, b))

    def expected_purchases(self, summary: pd.DataFrame, t: float) -> np.ndarray:
        """E[purchases in (T, T + t] | x, t_x, T], with ``t`` in the fitted time unit."""
        check_is_fitted(self, "params_")
        x, t_x, T = _summary_arrays(summary)
        r, alpha, a, b = self._params()
        z = t / (alpha + T + t)
        hyper = hyp2f1(r + x, b + x, a + b + x - 1.0, z)
        numerator = (a + b + x - 1.0) / (a - 1.0)
        numerator = numerator * (1.0 - ((alpha + T) / (alpha + T + t)) ** (r + x) * hyper)
        return numerator / (1.0 + _dropout_odds(x, t_x, T, r, alpha, a, b))

    def _params(self) -> tuple[float, float, float, float]:
        p = self.params_
        return p.r, p.alpha, p.a, p.b


def rfm_summary(
    tables: Tables,
    cutoff: pd.Timestamp,
    definition: ProblemDefinition,
    *,
    time_unit_days: float = 7.0,
) -> pd.DataFrame:
    """One row per account with an order by ``cutoff``: frequency, recency and T.

    Purchases are counted per calendar day (several lines on one day are one purchase, as
    in the BTYD literature); times are whole days from the first purchase day, in units of
    ``time_unit_days`` (weeks by default, the paper's unit). The history is cut by
    ``definition.history_at``, so nothing after the cutoff is read.
    """
    history = definition.history_at(tables, cutoff)
    orders = history.orders
    # age_days is measured at the end of day T; minus one day gives whole days to T itself.
    age = np.floor(definition.age_days(orders["order_date"], cutoff)) - 1.0
    codes = account_codes(orders).astype(np.int64)
    days = pd.DataFrame({"code": codes, "age": age}).drop_duplicates()
    grouped = days.groupby("code")["age"]
    first, last, count = grouped.max(), grouped.min(), grouped.size()
    ids = tables.accounts["account_id"].to_numpy(dtype=object)
    return pd.DataFrame(
        {
            "account_id": ids[first.index.to_numpy()],
            "frequency": (count - 1).to_numpy(dtype=np.float64),
            "recency": ((first - last) / time_unit_days).to_numpy(dtype=np.float64),
            "T": (first / time_unit_days).to_numpy(dtype=np.float64),
        }
    )


def _summary_arrays(summary: pd.DataFrame) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    missing = [c for c in SUMMARY_COLUMNS if c not in summary.columns]
    if missing:
        raise ValueError(
            f"A BG/NBD summary needs columns {', '.join(SUMMARY_COLUMNS)}; missing "
            f"{', '.join(missing)}."
        )
    return tuple(summary[c].to_numpy(dtype=np.float64) for c in SUMMARY_COLUMNS)


def _log_likelihood(
    params: np.ndarray, x: np.ndarray, t_x: np.ndarray, T: np.ndarray
) -> np.ndarray:
    """Per-customer log-likelihood, equation (6) of Fader, Hardie & Lee (2005)."""
    r, alpha, a, b = params
    a1 = gammaln(r + x) - gammaln(r) + r * np.log(alpha)
    a2 = betaln(a, b + x) - betaln(a, b)
    a3 = -(r + x) * np.log(alpha + T)
    repeat = x > 0
    a4 = np.full_like(x, -np.inf)
    a4[repeat] = (
        np.log(a) - np.log(b + x[repeat] - 1.0) - (r + x[repeat]) * np.log(alpha + t_x[repeat])
    )
    return a1 + a2 + np.logaddexp(a3, a4)


def _dropout_odds(
    x: np.ndarray, t_x: np.ndarray, T: np.ndarray, r: float, alpha: float, a: float, b: float
) -> np.ndarray:
    """Odds that a customer has already dropped out; 0 without a repeat purchase."""
    repeat = x > 0
    odds = np.zeros_like(x)
    odds[repeat] = (
        a / (b + x[repeat] - 1.0) * ((alpha + T[repeat]) / (alpha + t_x[repeat])) ** (r + x[repeat])
    )
    return odds
