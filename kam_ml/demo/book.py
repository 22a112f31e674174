"""The fixed world of the demo book: the weekly calendar and each account's latent parameters.

Why apart: everything here is drawn once, before the first week, and never changes while the
simulation runs; the process, the oracle and the export all read it and none of them owns
it. ``draw_book`` takes the first draws of the generator's stream, in the order written:
reordering them changes every frame a seed produces.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

from kam_ml.demo.catalogue import CATEGORIES, REGIONS, SEGMENTS

__all__ = ["STEP_DAYS", "Book", "Calendar", "draw_book"]

# -- the weekly grid ---------------------------------------------------------------------
STEP_DAYS = 7
_NS_PER_DAY = 86_400 * 10**9
_NS_PER_SECOND = 10**9

# -- buying ------------------------------------------------------------------------------
_MEAN_WEEKLY_RATE = 0.24  # orders per week of an average gold client, before seasonality
_RATE_SHAPE = 6.0  # gamma shape of the base order rate across accounts
_REGULARITY_WEIGHTS = (0.15, 0.25, 0.35, 0.25)  # share of accounts with Erlang shape 1..4
_THINNING_SHARE = 0.25  # accounts whose order rate slowly decays after an onset week
_MAX_THINNING = 1.5  # cap on that log-decline
_NEWCOMER_SHARE = 0.35  # accounts signing up during the generated years
_DORMANT_SHARE = 0.03  # older accounts that never order in the generated years
_ACCOUNTS_PER_MANAGER = 50


@dataclass(frozen=True)
class Calendar:
    """Whole weeks ending on the end date; day 0 is the first day of week 0."""

    start: pd.Timestamp
    n_steps: int

    @property
    def n_days(self) -> int:
        return self.n_steps * STEP_DAYS

    def day(self, when: pd.Timestamp) -> int:
        return int((pd.Timestamp(when).normalize() - self.start).days)

    def nanoseconds(self, day: np.ndarray, seconds: np.ndarray) -> np.ndarray:
        return (
            self.start.value
            + day.astype(np.int64) * _NS_PER_DAY
            + seconds.astype(np.int64) * _NS_PER_SECOND
        )

    def seasonality(self) -> np.ndarray:
        """Order-rate multiplier per week: a Q4 peak with a holiday spike, a summer dip."""
        mid = self.start + pd.to_timedelta(np.arange(self.n_steps) * STEP_DAYS + 3, unit="D")
        angle = 2 * np.pi * (mid.dayofyear.to_numpy() - 345) / 365.25
        days_from_peak = np.angle(np.exp(1j * angle)) * 365.25 / (2 * np.pi)
        holiday = np.exp(-((days_from_peak / 14) ** 2))
        return (1.0 + 0.15 * np.cos(angle) + 0.3 * holiday).astype(np.float32)


@dataclass(frozen=True)
class Book:
    """Fixed latent parameters per account (index = position in the accounts table)."""

    segment: np.ndarray  # int8 into SEGMENTS
    region: np.ndarray  # int8 into REGIONS
    manager: np.ndarray  # int32 into the manager list
    n_managers: int
    signup_day: np.ndarray  # negative before the generated years
    start_step: np.ndarray  # first week the account can order
    dormant: np.ndarray  # an old account that never orders in the generated years
    base_rate: np.ndarray  # orders per week before seasonality and thinning
    regularity: np.ndarray  # Erlang shape of the gaps between orders (1 = Poisson)
    thinning: np.ndarray  # log-decline of the order rate per week after the onset
    thinning_onset: np.ndarray
    complaint_propensity: np.ndarray
    return_propensity: np.ndarray
    grumpiness: np.ndarray  # shifts NPS answers down
    service_hours: np.ndarray  # median hours to resolve this account's tickets (manager-led)
    # (2n, categories) cumulative Dirichlet draws: row i is account i's mix in week 0, row
    # n + i in the last week; the mix drifts linearly from one to the other
    preferences: np.ndarray

    @property
    def n(self) -> int:
        return len(self.segment)

    def rate_at(self, step: int, season: np.float32) -> np.ndarray:
        """Weekly order rate of every account in one week (the simulation's hot path)."""
        decline = np.maximum(step - self.thinning_onset, 0).astype(np.float32)
        decline *= self.thinning
        np.minimum(decline, _MAX_THINNING, out=decline)
        rate = np.exp(-decline)
        rate *= self.base_rate * season
        rate *= self.start_step <= step
        return rate

    def rates(self, steps: np.ndarray, season: np.ndarray, rows: slice) -> np.ndarray:
        """``rate_at`` for accounts ``rows`` (axis 0) over ``steps`` (axis 1)."""
        weeks = np.maximum(steps[None, :] - self.thinning_onset[rows, None], 0)
        decline = np.minimum(self.thinning[rows, None] * weeks, _MAX_THINNING)
        started = self.start_step[rows, None] <= steps[None, :]
        return self.base_rate[rows, None] * season[None, :] * np.exp(-decline) * started


def draw_book(n: int, calendar: Calendar, rng: np.random.Generator) -> Book:
    """Draw every account's fixed parameters: the first draws of the generator's stream."""
    segment = rng.choice(len(SEGMENTS), size=n, p=[s.weight for s in SEGMENTS]).astype(np.int8)
    region = rng.choice(len(REGIONS), size=n, p=[w for _, w in REGIONS]).astype(np.int8)
    n_managers = max(1, round(n / _ACCOUNTS_PER_MANAGER))
    load = rng.uniform(0.8, 1.2, size=n_managers)  # books of ~40 to ~60 accounts
    manager = rng.choice(n_managers, size=n, p=load / load.sum()).astype(np.int32)
    manager_speed = rng.lognormal(0.0, 0.35, size=n_managers)

    newcomer = rng.random(n) < _NEWCOMER_SHARE
    signup_day = np.where(
        newcomer,
        rng.integers(0, calendar.n_days - 30, size=n),
        -rng.integers(1, 8 * 365, size=n),
    )
    # a newcomer's first possible order is in the week after it signed up
    start_step = np.where(newcomer, signup_day // STEP_DAYS + 1, 0).astype(np.int32)

    segment_rate = np.array([s.rate for s in SEGMENTS])[segment]
    base_rate = rng.gamma(_RATE_SHAPE, _MEAN_WEEKLY_RATE / _RATE_SHAPE, size=n) * segment_rate
    regularity = rng.choice(len(_REGULARITY_WEIGHTS), size=n, p=_REGULARITY_WEIGHTS) + 1
    thins = rng.random(n) < _THINNING_SHARE
    thinning = np.where(thins, rng.uniform(0.4, 1.8, size=n) / 52, 0.0)
    onset = rng.integers(-52, calendar.n_steps, size=n)
    service_hours = 10.0 * manager_speed[manager] * rng.lognormal(0.0, 0.3, size=n)
    popularity = np.array([c.popularity for c in CATEGORIES])
    return Book(
        segment=segment,
        region=region,
        manager=manager,
        n_managers=n_managers,
        signup_day=signup_day,
        start_step=start_step,
        dormant=~newcomer & (rng.random(n) < _DORMANT_SHARE),
        base_rate=base_rate.astype(np.float32),
        regularity=regularity.astype(np.int32),
        thinning=thinning.astype(np.float32),
        thinning_onset=np.maximum(onset, start_step).astype(np.int32),
        complaint_propensity=rng.lognormal(-0.5, 1.0, size=n).astype(np.float32),
        return_propensity=rng.beta(2.0, 28.0, size=n).astype(np.float32),
        grumpiness=rng.normal(0.0, 1.0, size=n).astype(np.float32),
        service_hours=service_hours.astype(np.float32),
        preferences=_cumulative_preferences(popularity, 2 * n, rng),
    )


def _cumulative_preferences(popularity: np.ndarray, n: int, rng: np.random.Generator) -> np.ndarray:
    cumulative = np.cumsum(rng.dirichlet(popularity * 0.8, size=n), axis=1).astype(np.float32)
    cumulative[:, -1] = 2.0  # a uniform draw always falls inside, whatever the rounding
    return cumulative
