"""A second, independent book: buy-till-you-die buyers whose churn no one can see coming.

Why a second generator: every model figure was first measured on ``kam_ml.demo.generate``,
which the same team wrote and tuned. There, churn is *caused* by things in the history
(complaints, slow tickets, returns, low NPS, falling orders) and clients react one horizon
late. Here the causal story is the opposite, the one of Schmittlein–Morrison–Colombo's
Pareto/NBD and Fader–Hardie–Lee's BG/NBD:

- every account has a latent purchase rate ``lambda ~ Gamma(r, alpha)`` (orders per day)
  and a latent dropout probability ``p ~ Beta(a, b)``;
- its first order is on its signup day; after *every* order it leaves for good with
  probability ``p`` (so its lifetime order count is Geometric(p): ``p`` large means many
  one-time buyers); while it stays, it orders as a Poisson process at ``lambda`` x the
  season;
- the season is a calendar multiplier shared by every account (a soft December peak, or a
  sharp one in the stress mode);
- category habits (a Dirichlet preference per account) and price tiers (the segment) shape
  *what* is bought and for how much, never *whether* the account stays;
- service events (tickets, complaints, NPS answers) are pure noise: drawn at a fixed
  per-account rate for the whole relationship, unrelated to ``lambda``, ``p`` or departure.

So only recency and frequency carry the signal, and nothing warns before a departure: it
happens, unobserved, right after an order. A model that leans on service features or on
the demo's lagged reactions has nothing to lean on here.

The oracle is exact and closed form. At the end of cutoff day T an account is either gone
(it will never order again: P(no order) = 1) or alive; if alive it orders at least once more
and its next order is the next event of a Poisson process, so
``P(no order in (T, T + H] | alive, lambda) = exp(-lambda * sum of the season over T+1..T+H)``.
Leaving happens only after an order, so it cannot stop the first order of the horizon.

That oracle knows what no history shows (whether the account has left), so the truth also
holds a second, the *history oracle*: it knows each account's own rate and dropout but,
like a model, only its orders up to T. After the last order the account stayed with
probability 1 - p (adjusted for how many orders that day held) and then drew no order
since, so P(alive | history) is a ratio of two closed-form terms (``_alive_given_history``)
and P(no order) = 1 - P(alive | history) x (1 - exp(-lambda x season sum)). It is the
ceiling of a perfect model of this book; the latent oracle is the ceiling of a clairvoyant.

``generate_btyd_book`` returns contract-shaped frames and ``truth`` (one row per cutoff and
account active at it); ``DemoData.write`` keeps the truth in ``truth/`` like the demo's.
``BookShape.stress()`` is the hard case a new user may bring: 9 months of history, one
category, an empty interactions table, mostly one-time buyers and a sharp seasonal peak.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import pandas as pd
from scipy import stats

from kam_ml.demo.generate import DemoData
from kam_ml.errors import require_positive_int

__all__ = ["BookShape", "generate_btyd_book"]

_CATEGORIES = ("Leather", "Watches", "Jewellery", "Eyewear", "Fragrance", "Tableware")
_MARGINS = (0.62, 0.48, 0.55, 0.58, 0.70, 0.45)
_TIERS = (("budget", 300.0), ("standard", 900.0), ("premium", 2800.0))
_REGIONS = ("EMEA", "AMER", "APAC")
_EVENT_KINDS = ("ticket", "complaint", "nps")
_BURN_IN_DAYS = 365  # accounts signed up before the export starts already have a past


@dataclass(frozen=True)
class BookShape:
    """The knobs of the book; ``BookShape.stress()`` sets all the hard ones at once.

    ``dropout_a``/``dropout_b`` are the Beta prior of the per-order dropout probability
    (mean a / (a + b)); ``rate_shape``/``rate_mean_days`` the Gamma prior of the purchase
    rate (``rate_mean_days`` = mean days between orders); ``seasonal_peak`` the multiplier
    at the peak (1 = no season), ``peak_width_days`` how sharp it is and ``peak_month`` when
    (mid-month).
    """

    history_months: int = 36
    categories: int = len(_CATEGORIES)
    interactions: bool = True
    dropout_a: float = 1.0
    dropout_b: float = 9.0
    rate_shape: float = 1.5
    rate_mean_days: float = 35.0
    seasonal_peak: float = 1.6
    peak_width_days: float = 45.0
    peak_month: int = 12

    @classmethod
    def stress(cls) -> BookShape:
        """Short history, one category, no interactions, 60% one-time buyers, sharp peak."""
        return cls(
            history_months=9,
            categories=1,
            interactions=False,
            dropout_a=3.0,
            dropout_b=2.0,
            seasonal_peak=5.0,
            peak_width_days=12.0,
            peak_month=7,  # a summer sale, so that the peak falls inside the 9 months
        )


def generate_btyd_book(
    n_accounts: int = 2000,
    seed: int = 0,
    end_date: str | pd.Timestamp = "2026-10-31",
    shape: BookShape | None = None,
    truth_cutoffs: Sequence[pd.Timestamp] | None = None,
    horizon_days: int = 90,
) -> DemoData:
    """Simulate the book up to ``end_date``; same seed and shape, same frames.

    ``truth_cutoffs`` default to the month-ends whose horizon ends by ``end_date`` (the last
    twelve at most); a cutoff whose horizon runs past ``end_date`` is refused because its
    label is not in the data. Without interactions the table is written empty, with the
    contract's columns.
    """
    require_positive_int("generate_btyd_book", "n_accounts", n_accounts)
    require_positive_int("generate_btyd_book", "horizon_days", horizon_days)
    shape = shape or BookShape()
    require_positive_int("BookShape", "history_months", shape.history_months)
    if not 1 <= shape.categories <= len(_CATEGORIES):
        raise ValueError(
            f"The 'categories' of BookShape must be in [1, {len(_CATEGORIES)}]. "
            f"Got {shape.categories!r} instead."
        )
    end = pd.Timestamp(end_date).normalize()
    start = end - pd.DateOffset(months=shape.history_months) + pd.Timedelta(days=1)
    n_days = (end - start).days + 1
    cutoffs = _truth_cutoffs(truth_cutoffs, start, end, horizon_days)
    rng = np.random.default_rng(seed)
    days = np.arange(-_BURN_IN_DAYS, n_days)  # day 0 is ``start``
    season = _season(start + pd.to_timedelta(days, unit="D"), shape)
    latent = _draw_accounts(n_accounts, n_days, shape, rng)
    order_account, order_day, death_day = _simulate(latent, season, days, rng)
    seen = order_day >= 0  # before the export: not in the data
    has_orders = np.zeros(n_accounts, dtype=bool)
    has_orders[order_account[seen]] = True
    ids = np.array([f"B{i:06d}" for i in range(n_accounts)], dtype=object)
    accounts = _accounts_frame(latent, ids, start, rng)[has_orders].reset_index(drop=True)
    orders = _orders_frame(
        order_account[seen], order_day[seen], latent, ids, start, n_days, shape, rng
    )
    categories = pd.DataFrame(
        {
            "category": list(_CATEGORIES[: shape.categories]),
            "margin_rate": list(_MARGINS[: shape.categories]),
        }
    )
    interactions = (
        _interactions_frame(latent, ids[has_orders], has_orders, start, n_days, rng)
        if shape.interactions
        else _interactions_frame(latent, ids[:0], has_orders & False, start, n_days, rng)
    )
    truth = _truth_frame(
        latent, ids, order_account, order_day, death_day, season, days, start, cutoffs,
        horizon_days,
    )  # fmt: skip
    return DemoData(
        accounts=accounts,
        orders=orders,
        interactions=interactions,
        categories=categories,
        truth=truth,
    )


# -- the world ------------------------------------------------------------------------------
def _season(dates: pd.DatetimeIndex, shape: BookShape) -> np.ndarray:
    """A bump at mid ``peak_month``, circular in the day of the year, yearly mean close to 1."""
    peak = (shape.peak_month - 1) * 30.44 + 15.0
    distance = np.abs(dates.dayofyear.to_numpy() - peak)
    distance = np.minimum(distance, 365.25 - distance)
    bump = np.exp(-0.5 * (distance / shape.peak_width_days) ** 2)
    raw = 1.0 + (shape.seasonal_peak - 1.0) * bump
    yearly_mean = (
        1.0 + (shape.seasonal_peak - 1.0) * shape.peak_width_days * np.sqrt(2 * np.pi) / 365.25
    )
    return np.asarray(raw / yearly_mean, dtype=np.float64)


@dataclass(frozen=True)
class _Latent:
    rate: np.ndarray  # orders per day while alive, before the season
    dropout: np.ndarray  # P(leave right after an order)
    lifetime_orders: np.ndarray  # Geometric(dropout): orders until and including the last
    signup_day: np.ndarray  # may be negative: signed up during the burn-in
    tier: np.ndarray
    region: np.ndarray
    preference: np.ndarray  # (accounts x categories) habits
    event_rate: np.ndarray  # service events per day, noise


def _draw_accounts(n: int, n_days: int, shape: BookShape, rng: np.random.Generator) -> _Latent:
    rate = rng.gamma(shape.rate_shape, 1.0 / (shape.rate_shape * shape.rate_mean_days), n)
    dropout = rng.beta(shape.dropout_a, shape.dropout_b, n)
    # the first 40% are already clients when the burn-in starts; the rest arrive evenly
    arrival = rng.integers(-_BURN_IN_DAYS, n_days, n)
    signup = np.where(rng.random(n) < 0.4, -_BURN_IN_DAYS, arrival)
    k = shape.categories
    return _Latent(
        rate=rate,
        dropout=dropout,
        lifetime_orders=rng.geometric(dropout),
        signup_day=signup,
        tier=rng.choice(len(_TIERS), n, p=[0.5, 0.35, 0.15]),
        region=rng.choice(len(_REGIONS), n, p=[0.45, 0.35, 0.20]),
        preference=rng.dirichlet(np.full(k, 0.4), n) if k > 1 else np.ones((n, 1)),
        event_rate=rng.gamma(1.0, 1.0 / 60.0, n),
    )


def _simulate(
    latent: _Latent, season: np.ndarray, days: np.ndarray, rng: np.random.Generator
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Daily Poisson orders until the lifetime's last order; returns one entry per order.

    ``death_day`` is the day of the last order for an account that has left, and a day past
    the history for one that is still alive at the end.
    """
    n = len(latent.rate)
    remaining = latent.lifetime_orders.copy()
    death_day = np.full(n, days[-1] + 1)
    accounts: list[np.ndarray] = []
    order_days: list[np.ndarray] = []
    for i, day in enumerate(days):
        joined = latent.signup_day <= day
        count = rng.poisson(latent.rate * season[i]) * (joined & (remaining > 0))
        count = count + (latent.signup_day == day)  # the first order is on the signup day
        count = np.minimum(count, remaining)
        if not count.any():
            continue
        remaining -= count
        death_day[(count > 0) & (remaining == 0)] = day
        who = np.repeat(np.arange(n), count)
        accounts.append(who)
        order_days.append(np.full(len(who), day))
    return np.concatenate(accounts), np.concatenate(order_days), death_day


# -- frames as a retailer would export them ---------------------------------------------
def _stamp(start: pd.Timestamp, day: np.ndarray, seconds: np.ndarray) -> pd.Series:
    offset = pd.to_timedelta(day, unit="D") + pd.to_timedelta(seconds, unit="s")
    return pd.Series(start + offset, dtype="datetime64[ns]")


def _accounts_frame(
    latent: _Latent, ids: np.ndarray, start: pd.Timestamp, rng: np.random.Generator
) -> pd.DataFrame:
    n = len(ids)
    managers = np.array([f"Manager {i:02d}" for i in range(max(1, n // 60))], dtype=object)
    return pd.DataFrame(
        {
            "account_id": ids,
            "signup_date": _stamp(start, latent.signup_day, np.zeros(n)),
            "manager": managers[rng.integers(0, len(managers), n)],
            "region": np.array(_REGIONS, dtype=object)[latent.region],
            "segment": np.array([t for t, _ in _TIERS], dtype=object)[latent.tier],
        }
    )


def _orders_frame(
    account: np.ndarray,
    day: np.ndarray,
    latent: _Latent,
    ids: np.ndarray,
    start: pd.Timestamp,
    n_days: int,
    shape: BookShape,
    rng: np.random.Generator,
) -> pd.DataFrame:
    """Each order has 1-3 lines, categories drawn from the account's habits."""
    lines = rng.integers(1, 4, len(account))
    order = np.repeat(np.arange(len(account)), lines)
    who, when = account[order], day[order]
    cumulative = np.cumsum(latent.preference[who], axis=1)
    category = (rng.random(len(who))[:, None] > cumulative).sum(axis=1)
    category = np.minimum(category, shape.categories - 1)
    quantity = rng.integers(1, 6, len(who))
    price = np.array([p for _, p in _TIERS])[latent.tier[who]]
    amount = np.round(quantity * price * rng.lognormal(0.0, 0.35, len(who)), 2)
    seconds = rng.integers(8 * 3600, 20 * 3600, len(account))[order]
    return_day = when + rng.integers(3, 25, len(who))
    returned = (rng.random(len(who)) < 0.03) & (return_day < n_days)
    return_date = _stamp(start, return_day, rng.integers(9 * 3600, 18 * 3600, len(who)))
    return pd.DataFrame(
        {
            "order_id": np.array([f"Q{i:08d}" for i in order], dtype=object),
            "account_id": ids[who],
            "order_date": _stamp(start, when, seconds),
            "category": np.array(_CATEGORIES, dtype=object)[category],
            "product_id": [
                f"{_CATEGORIES[c][:3].upper()}-{p:03d}"
                for c, p in zip(category, rng.integers(0, 40, len(who)), strict=True)
            ],
            "quantity": quantity.astype(np.int64),
            "amount": amount.astype(np.float64),
            "returned": returned,
            "return_date": return_date.where(returned),
        }
    )


def _interactions_frame(
    latent: _Latent,
    ids: np.ndarray,
    keep: np.ndarray,
    start: pd.Timestamp,
    n_days: int,
    rng: np.random.Generator,
) -> pd.DataFrame:
    """Tickets, complaints and NPS answers at a fixed rate: unrelated to staying or leaving."""
    first = np.maximum(latent.signup_day[keep], 0)
    span = n_days - first
    count = rng.poisson(latent.event_rate[keep] * span)
    who = np.repeat(np.arange(len(ids)), count)
    day = first[who] + (rng.random(len(who)) * span[who]).astype(np.int64)
    kind = rng.choice(3, len(who), p=[0.5, 0.2, 0.3])
    value = np.where(
        kind == 0,
        np.round(rng.lognormal(3.0, 0.8, len(who)), 1),
        np.where(kind == 2, rng.integers(0, 11, len(who)).astype(np.float64), np.nan),
    )
    frame = pd.DataFrame(
        {
            "account_id": ids[who],
            "event_date": _stamp(start, day, rng.integers(8 * 3600, 19 * 3600, len(who))),
            "event_type": np.array(_EVENT_KINDS, dtype=object)[kind],
            "value": value,
        }
    )
    return frame.sort_values("event_date", kind="stable").reset_index(drop=True)


# -- the oracle -----------------------------------------------------------------------------
def _truth_cutoffs(
    requested: Sequence[pd.Timestamp] | None,
    start: pd.Timestamp,
    end: pd.Timestamp,
    horizon_days: int,
) -> list[pd.Timestamp]:
    horizon = pd.Timedelta(days=horizon_days)
    if requested is None:
        month_ends = pd.date_range(start, end - horizon, freq="ME")
        return list(month_ends[-12:])
    cutoffs = sorted({pd.Timestamp(c).normalize() for c in requested})
    bad = [c for c in cutoffs if c + horizon > end or c < start]
    if bad:
        raise ValueError(
            f"The 'truth_cutoffs' of generate_btyd_book must lie in "
            f"[{start.date()}, {(end - horizon).date()}] so that their horizon ends inside "
            f"the history. Got {[str(c.date()) for c in bad]} instead."
        )
    return cutoffs


def _truth_frame(
    latent: _Latent,
    ids: np.ndarray,
    order_account: np.ndarray,
    order_day: np.ndarray,
    death_day: np.ndarray,
    season: np.ndarray,
    days: np.ndarray,
    start: pd.Timestamp,
    cutoffs: list[pd.Timestamp],
    horizon_days: int,
) -> pd.DataFrame:
    """Per cutoff and active account: both oracles and the realised label.

    Active and churned follow the contract on the exported orders: an order in the 365 days
    up to and including T; no order in days T+1 .. T+H.
    """
    n = len(ids)
    seen = order_day >= 0
    order_account, order_day = order_account[seen], order_day[seen]
    frames = []
    for cutoff in cutoffs:
        t = (cutoff - start).days
        active = np.zeros(n, dtype=bool)
        active[order_account[(order_day <= t) & (order_day > t - 365)]] = True
        ordered = np.zeros(n, dtype=bool)
        ordered[order_account[(order_day > t) & (order_day <= t + horizon_days)]] = True
        alive = (latent.signup_day <= t) & (death_day > t)
        window = (days > t) & (days <= t + horizon_days)
        exposure = latent.rate * season[window].sum()
        expected = np.where(alive, exposure, 0.0)
        rows = np.flatnonzero(active)
        p_alive = _alive_given_history(latent, order_account, order_day, season, days, t)
        frames.append(
            pd.DataFrame(
                {
                    "account_id": ids[rows],
                    "cutoff": pd.Series(np.full(len(rows), cutoff), dtype="datetime64[ns]"),
                    "true_churn_probability": np.exp(-expected[rows]),
                    "churned": ~ordered[rows],
                    "history_churn_probability": 1.0 - p_alive[rows] * -np.expm1(-exposure[rows]),
                    "alive": alive[rows],
                    "alive_probability": p_alive[rows],
                    "purchase_rate": latent.rate[rows],
                    "dropout_probability": latent.dropout[rows],
                    "expected_orders": expected[rows],
                }
            )
        )
    return pd.concat(frames, ignore_index=True)


def _alive_given_history(
    latent: _Latent,
    order_account: np.ndarray,
    order_day: np.ndarray,
    season: np.ndarray,
    days: np.ndarray,
    t: int,
) -> np.ndarray:
    """P(alive at the end of day t | own rate and dropout, own orders up to t), exactly.

    The account stayed after its last order day d with probability (1 - p) adjusted for
    that day's count (k orders seen: either exactly k were drawn and it stayed, or it left
    at the k-th of at least k), then drew no order on days d+1 .. t. Accounts with no
    order up to t get 0 (they are never active, so never asked).
    """
    n = len(latent.rate)
    known = order_day <= t
    last = np.full(n, -(10**9))
    np.maximum.at(last, order_account[known], order_day[known])
    has = last > -(10**9)
    on_last = known & (order_day == last[order_account])
    k = np.bincount(order_account[on_last], minlength=n)
    extra = (last == latent.signup_day).astype(np.int64)  # the signup order is not drawn
    j = k - extra  # Poisson draws behind the k orders of the last day
    day_mean = latent.rate * season[np.clip(last - days[0], 0, len(days) - 1)]
    exactly = stats.poisson.pmf(j, day_mean)
    at_least = stats.poisson.sf(j - 1, day_mean)
    cumulative = np.concatenate([[0.0], np.cumsum(season)])
    quiet = cumulative[t - days[0] + 1] - cumulative[np.clip(last - days[0] + 1, 0, None)]
    stay = (1.0 - latent.dropout) * exactly * np.exp(-latent.rate * quiet)
    leave = latent.dropout * at_least
    return np.where(has, stay / np.maximum(stay + leave, 1e-300), 0.0)
