"""A seeded generator of a luxury key-account book with planted, known churn truth.

Why a simulator and not a sample of real data: a model can only be judged against the truth
it tries to recover. Here the truth is written down. Accounts live on a weekly grid; each
week an account that is still a client may leave with a hazard that is a logistic function
of things a model can see in its history::

    logit(weekly hazard) = base + segment
                           + dissatisfaction   (decayed count of complaints, slow tickets
                                                and returns)
                           + low latest NPS    (how far below 7)
                           + falling order rate (short- vs long-run order frequency)

A client that has left places no more orders; one that stays orders as a Poisson process
whose weekly rate is the account's base rate x seasonality (Q4 peak, summer dip) x a slow
"thinning" for some accounts. Category preferences drift between two Dirichlet draws.

Clients react to what they experienced with a delay of one horizon (``_reaction_steps``):
the hazard in week k is driven by the history up to week k - delay. That makes the oracle
exact rather than sampled: at a cutoff T every hazard and order rate of the next horizon is
fixed by the latent state at T, so the probability of "no order in (T, T + horizon]"
is a finite sum over the week the account may leave in (``_oracle``).

``generate_demo_data`` returns raw, contract-shaped frames (what a retailer would export)
plus ``truth``: per cutoff and active account, that Bayes-optimal probability and the
realised label. ``DemoData.write`` keeps the truth in a ``truth/`` subfolder so a loader
never mistakes it for a contract table.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Literal

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc

from kam_ml.demo_catalogue import CATEGORIES, REGIONS, SEGMENTS, manager_names

__all__ = ["DemoData", "generate_demo_data"]

_STEP_DAYS = 7
_NS_PER_DAY = 86_400 * 10**9
_NS_PER_SECOND = 10**9

# -- planted churn process (weekly log-odds) ---------------------------------------------
_BASE_LOGIT = -7.9  # ~2% of satisfied, steadily ordering clients leave per year
_W_DISSATISFACTION = 2.2  # per unit of decayed complaints / slow tickets / returns
_W_NPS_GAP = 0.35  # per NPS point below 7 in the latest survey
_W_DECLINE = 1.3  # per unit of log(long-run / recent order rate), capped at 3
_W_RATE_DISSATISFACTION = 0.4  # order-rate log-decline per unit of dissatisfaction
_DISSATISFACTION_DECAY = float(np.exp(-1 / 26))  # memory of ~half a year
_SLOW_TICKET_HOURS = 48.0
_WEIGHT_SLOW_TICKET = 0.6
_WEIGHT_RETURN = 0.35
_RECENT_DECAY = float(np.exp(-1 / 8))  # the "recent" order rate: about two months
_LONG_RUN_DECAY = float(np.exp(-1 / 52))  # the long-run order rate: about a year

# -- ordering and service ----------------------------------------------------------------
_MEAN_WEEKLY_RATE = 0.22
_RATE_SHAPE = 6.0
_REGULARITY_WEIGHTS = (
    0.15,
    0.25,
    0.35,
    0.25,
)  # share of accounts with Erlang shape 1..4  # gamma shape of the base order rate across accounts
_THINNING_SHARE = 0.25  # accounts whose order rate decays after an onset week
_MAX_THINNING = 1.5  # cap on the log-decline of the order rate
_NEWCOMER_SHARE = 0.35
_DORMANT_SHARE = 0.03  # pre-existing accounts that never order in the window
_COMPLAINT_PER_LINE = 0.01
_COMPLAINT_PER_WEEK = 0.01
_PARTING_COMPLAINT_PER_WEEK = 0.04  # after leaving, for _PARTING_WEEKS weeks
_PARTING_WEEKS = 12
_TICKET_PER_LINE = 0.12
_TICKET_PER_WEEK = 0.01
_NPS_PER_WEEK = 0.06
_NEWSLETTER_PER_WEEK = 0.05
_RETURN_DATE_MISSING = 0.1
_COMPLIMENTARY_LINES = 0.004
_PRODUCTS_PER_CATEGORY = 150
_MISSING_MANAGER = 0.02
_ACCOUNTS_PER_MANAGER = 50

_EVENT_TYPES = np.array(["complaint", "ticket", "nps", "newsletter_click"], dtype=object)
_COMPLAINT, _TICKET, _NPS, _NEWSLETTER = range(4)


@dataclass(frozen=True)
class DemoData:
    """The generated book: four contract tables as exported, and the oracle truth.

    ``truth`` has one row per (cutoff, account active at the cutoff): ``account_id``,
    ``cutoff``, ``true_churn_probability`` (Bayes-optimal given the full latent state),
    ``churned`` (the realised contract label), and latent drivers: ``alive`` (still a client
    at the cutoff), ``departure_probability`` (left by the end of the horizon),
    ``expected_orders`` (in the horizon if it stays), ``latent_rate`` (orders per week,
    seasonality aside) and ``dissatisfaction``.
    """

    accounts: pd.DataFrame
    orders: pd.DataFrame
    interactions: pd.DataFrame
    categories: pd.DataFrame
    truth: pd.DataFrame

    def write(self, out_dir: Path, fmt: Literal["parquet", "csv"] = "parquet") -> None:
        """Write the contract tables to ``out_dir`` and the truth to ``out_dir/truth``.

        The truth sits in a subfolder because a loader reads every table file at the top
        level; an oracle next to the inputs would be one glob away from leaking into a model.
        """
        if fmt not in ("parquet", "csv"):
            raise ValueError(
                f"The 'fmt' of DemoData.write must be 'parquet' or 'csv'. Got {fmt!r}."
            )
        out_dir = Path(out_dir)
        (out_dir / "truth").mkdir(parents=True, exist_ok=True)
        tables = {
            "accounts": self.accounts,
            "orders": self.orders,
            "interactions": self.interactions,
            "categories": self.categories,
            "truth/churn_truth": self.truth,
        }
        for name, frame in tables.items():
            path = out_dir / f"{name}.{fmt}"
            if fmt == "parquet":
                frame.to_parquet(path, index=False)
            else:
                frame.to_csv(path, index=False, date_format="%Y-%m-%dT%H:%M:%S")


def generate_demo_data(
    n_accounts: int = 2000,
    seed: int = 0,
    end_date: str | pd.Timestamp = "2026-10-31",
    years: float = 3.0,
    truth_cutoffs: Sequence[pd.Timestamp] | None = None,
    horizon_days: int = 90,
) -> DemoData:
    """Simulate ``years`` of history up to ``end_date`` for ``n_accounts`` accounts.

    Same seed, same frames. ``truth_cutoffs`` default to the month-ends of the last twelve
    months whose horizon ends by ``end_date``; the truth is only exact for cutoffs whose
    whole horizon lies inside the generated history, so later ones are refused.
    ``horizon_days`` also sets the clients' reaction delay (see the module docstring).
    """
    _check_positive_int("n_accounts", n_accounts)
    _check_positive_int("horizon_days", horizon_days)
    if not isinstance(seed, int | np.integer) or isinstance(seed, bool) or seed < 0:
        raise ValueError(
            f"The 'seed' of generate_demo_data must be a non-negative int. Got {seed!r} instead."
        )
    end = pd.Timestamp(end_date).normalize()
    reaction = _reaction_steps(horizon_days)
    n_steps = int(round(float(years) * 365.25 / _STEP_DAYS))
    if n_steps < 2 * reaction:
        raise ValueError(
            f"The 'years' of generate_demo_data must cover at least two horizons "
            f"({2 * reaction * _STEP_DAYS} days for horizon_days={horizon_days}). Got {years!r}."
        )
    calendar = _Calendar(end + pd.Timedelta(days=1 - n_steps * _STEP_DAYS), n_steps)
    cutoffs = _truth_cutoffs(truth_cutoffs, calendar, end, horizon_days)
    rng = np.random.default_rng(seed)
    book = _draw_book(n_accounts, calendar, rng)
    sim = _simulate(book, calendar, cutoffs, horizon_days, reaction, rng)
    account_ids = _ids("A", n_accounts, width=max(6, len(str(n_accounts - 1))))
    return DemoData(
        accounts=_accounts_frame(book, account_ids, calendar, rng),
        orders=_orders_frame(sim, account_ids, calendar),
        interactions=_interactions_frame(sim, account_ids, calendar),
        categories=pd.DataFrame(
            {
                "category": pd.array([c.name for c in CATEGORIES], dtype="str"),
                "margin_rate": np.array([c.margin_rate for c in CATEGORIES], dtype=np.float64),
            }
        ),
        truth=_truth_frame(sim, book, account_ids, calendar, cutoffs, horizon_days),
    )


# -- calendar ------------------------------------------------------------------------------
@dataclass(frozen=True)
class _Calendar:
    """A grid of whole weeks ending on the end date; day 0 is the first day of week 0."""

    start: pd.Timestamp
    n_steps: int

    def day(self, when: pd.Timestamp) -> int:
        return int((pd.Timestamp(when).normalize() - self.start).days)

    def nanoseconds(self, day: np.ndarray, seconds: np.ndarray) -> np.ndarray:
        return (
            self.start.value
            + day.astype(np.int64) * _NS_PER_DAY
            + (seconds * _NS_PER_SECOND).astype(np.int64)
        )

    @property
    def n_days(self) -> int:
        return self.n_steps * _STEP_DAYS

    def seasonality(self) -> np.ndarray:
        """Order-rate multiplier per week: a Q4 peak with a holiday spike, a summer dip."""
        mid = self.start + pd.to_timedelta(np.arange(self.n_steps) * _STEP_DAYS + 3, unit="D")
        angle = 2 * np.pi * (mid.dayofyear.to_numpy() - 345) / 365.25
        holiday = np.exp(-((np.angle(np.exp(1j * angle)) * 365.25 / (2 * np.pi) / 14) ** 2))
        return 1.0 + 0.15 * np.cos(angle) + 0.3 * holiday


def _reaction_steps(horizon_days: int) -> int:
    """Weeks between an experience and the churn decision it drives.

    At least the number of weeks a horizon can touch, so that every hazard inside
    (T, T + horizon] is already fixed at T; this is what makes the oracle exact.
    """
    return horizon_days // _STEP_DAYS + 1


def _truth_cutoffs(
    requested: Sequence[pd.Timestamp] | None,
    calendar: _Calendar,
    end: pd.Timestamp,
    horizon_days: int,
) -> list[pd.Timestamp]:
    horizon = pd.Timedelta(days=horizon_days)
    if requested is None:
        month_ends = pd.date_range(end - pd.DateOffset(months=12), end, freq="ME")
        return [m for m in month_ends if m + horizon <= end and m >= calendar.start]
    cutoffs = sorted({pd.Timestamp(c).normalize() for c in requested})
    bad = [c for c in cutoffs if c + horizon > end or c < calendar.start]
    if bad:
        raise ValueError(
            f"The 'truth_cutoffs' of generate_demo_data must lie in "
            f"[{calendar.start.date()}, {(end - horizon).date()}] so that the horizon ends "
            f"inside the history. Got {[str(c.date()) for c in bad]}."
        )
    return cutoffs


# -- the latent book ---------------------------------------------------------------------
@dataclass(frozen=True)
class _Book:
    """Latent, per-account parameters of the process; index = position in accounts."""

    segment: np.ndarray  # int8 into SEGMENTS
    region: np.ndarray  # int8 into REGIONS
    manager: np.ndarray  # int32 into the manager list
    n_managers: int
    signup_day: np.ndarray  # int64, negative before the window
    start_step: np.ndarray  # int32, first week the account can order
    dormant: np.ndarray  # bool: a past client that never orders in the window
    base_rate: np.ndarray  # orders per week before seasonality and thinning
    regularity: np.ndarray  # Erlang shape of the gaps between orders (1 = Poisson)
    thinning: np.ndarray  # log-decline of the order rate per week after onset
    thinning_onset: np.ndarray  # week the decline starts
    complaint_propensity: np.ndarray
    return_propensity: np.ndarray
    grumpiness: np.ndarray  # shifts NPS answers down
    service_hours: np.ndarray  # median hours to resolve this account's tickets
    preference_start: np.ndarray  # (n, categories) cumulative Dirichlet draw, week 0
    preference_end: np.ndarray  # same, last week: preferences drift linearly between them

    @property
    def n(self) -> int:
        return len(self.segment)

    def rates(self, steps: np.ndarray, season: np.ndarray, rows: slice = slice(None)) -> np.ndarray:
        """Weekly Poisson order rate of each account (rows) at each of ``steps`` (columns)."""
        weeks_thinning = np.maximum(steps[None, :] - self.thinning_onset[rows, None], 0)
        decline = np.minimum(self.thinning[rows, None] * weeks_thinning, _MAX_THINNING)
        started = self.start_step[rows, None] <= steps[None, :]
        return self.base_rate[rows, None] * season[steps][None, :] * np.exp(-decline) * started


def _draw_book(n: int, calendar: _Calendar, rng: np.random.Generator) -> _Book:
    segment = rng.choice(len(SEGMENTS), size=n, p=[s.weight for s in SEGMENTS]).astype(np.int8)
    region = rng.choice(len(REGIONS), size=n, p=[w for _, w in REGIONS]).astype(np.int8)
    n_managers = max(1, round(n / _ACCOUNTS_PER_MANAGER))
    # uneven books: loads vary by about +-20% around the mean, as they do in a sales force
    load = rng.uniform(0.8, 1.2, size=n_managers)
    manager = rng.choice(n_managers, size=n, p=load / load.sum()).astype(np.int32)
    manager_speed = rng.lognormal(0.0, 0.35, size=n_managers)

    newcomer = rng.random(n) < _NEWCOMER_SHARE
    last_signup = calendar.n_days - 30
    signup_day = np.where(
        newcomer,
        rng.integers(0, last_signup, size=n),
        -rng.integers(1, 8 * 365, size=n),
    ).astype(np.int64)
    start_step = np.where(newcomer, signup_day // _STEP_DAYS + 1, 0).astype(np.int32)

    segment_rate = np.array([s.rate for s in SEGMENTS])[segment]
    base_rate = rng.gamma(_RATE_SHAPE, _MEAN_WEEKLY_RATE / _RATE_SHAPE, size=n) * segment_rate
    thins = rng.random(n) < _THINNING_SHARE
    thinning = np.where(thins, rng.uniform(0.4, 1.8, size=n) / 52, 0.0)
    onset = rng.integers(-52, calendar.n_steps, size=n).astype(np.int32)

    popularity = np.array([c.popularity for c in CATEGORIES])
    return _Book(
        segment=segment,
        region=region,
        manager=manager,
        n_managers=n_managers,
        signup_day=signup_day,
        start_step=start_step,
        dormant=~newcomer & (rng.random(n) < _DORMANT_SHARE),
        base_rate=base_rate.astype(np.float32),
        regularity=rng.choice(
            np.arange(1, len(_REGULARITY_WEIGHTS) + 1), size=n, p=_REGULARITY_WEIGHTS
        ).astype(np.int64),
        thinning=thinning.astype(np.float32),
        thinning_onset=np.maximum(onset, start_step),
        complaint_propensity=rng.lognormal(-0.5, 1.0, size=n).astype(np.float32),
        return_propensity=rng.beta(2.0, 28.0, size=n).astype(np.float32),
        grumpiness=rng.normal(0.0, 1.0, size=n).astype(np.float32),
        service_hours=(10.0 * manager_speed[manager] * rng.lognormal(0.0, 0.3, size=n)).astype(
            np.float32
        ),
        preference_start=_cumulative_preferences(popularity, n, rng),
        preference_end=_cumulative_preferences(popularity, n, rng),
    )


def _cumulative_preferences(popularity: np.ndarray, n: int, rng: np.random.Generator) -> np.ndarray:
    cumulative = np.cumsum(rng.dirichlet(popularity * 0.8, size=n), axis=1).astype(np.float32)
    cumulative[:, -1] = 2.0  # a uniform draw always falls inside, whatever the rounding
    return cumulative


# -- the weekly simulation ---------------------------------------------------------------
@dataclass
class _Simulation:
    """What the run produced: event columns (concatenated at the end) and oracle parts."""

    lines: dict[str, list[np.ndarray]]
    events: dict[str, list[np.ndarray]]
    oracle: dict[pd.Timestamp, dict[str, np.ndarray]]
    n_orders: int = 0

    def column(self, table: Literal["lines", "events"], name: str) -> np.ndarray:
        return np.concatenate(getattr(self, table)[name])


def _simulate(
    book: _Book,
    calendar: _Calendar,
    cutoffs: list[pd.Timestamp],
    horizon_days: int,
    reaction: int,
    rng: np.random.Generator,
) -> _Simulation:
    """Run the weeks in order, vectorised over accounts; snapshot the oracle at cutoffs."""
    n = book.n
    season = calendar.seasonality()
    sim = _Simulation(
        lines={k: [] for k in ("account", "day", "seconds", "order", "category", "product",
                               "quantity", "amount", "returned", "return_day", "return_known")},
        events={k: [] for k in ("account", "day", "seconds", "type", "value")},
        oracle={},
    )  # fmt: skip
    alive = ~book.dormant
    left_at = np.full(n, -(1 << 20), dtype=np.int32)
    # pre-existing clients are anywhere in their buying cycle; a newcomer buys soon
    phase = np.where(
        book.start_step > 0,
        book.regularity - 1,
        rng.integers(0, 1 << 30, size=n) % book.regularity,
    ).astype(np.int64)
    dissatisfaction = _initial_dissatisfaction(book)
    nps_last = np.full(n, np.nan, dtype=np.float32)
    start_rate = book.rates(np.array([0]), np.ones(1))[:, 0].astype(np.float32)
    recent_rate = np.where(book.start_step > 0, book.base_rate, start_rate)
    long_run_rate = recent_rate.copy()
    segment_logit = np.array([s.churn_logit for s in SEGMENTS], dtype=np.float32)[book.segment]
    reactions = _Reactions.constant(
        reaction + 1,
        _log_odds(segment_logit, dissatisfaction, nps_last, recent_rate, long_run_rate),
        _damping(dissatisfaction),
    )
    cutoff_at_step = {calendar.day(c) // _STEP_DAYS: c for c in cutoffs}

    for k in range(calendar.n_steps):
        started = book.start_step <= k
        hazard = _sigmoid(reactions.log_odds[reactions.slot(k)])
        leaving = alive & started & (rng.random(n, dtype=np.float32) < hazard)
        alive &= ~leaving
        left_at[leaving] = k
        if k in cutoff_at_step:
            cutoff = cutoff_at_step[k]
            sim.oracle[cutoff] = _oracle(
                book, alive, phase, reactions, calendar.day(cutoff), horizon_days, season,
                dissatisfaction,
            )  # fmt: skip
        rate = book.rates(np.array([k]), season)[:, 0] * reactions.damping[reactions.slot(k)]
        rate *= alive
        order_account, order_day = _place_orders(book, phase, rate, k, rng)
        orders = np.bincount(order_account, minlength=n)
        experience = _order_lines(sim, book, k, calendar.n_steps, order_account, order_day, rng)
        parting = k - left_at < _PARTING_WEEKS
        experience += _service_events(sim, book, k, alive & started, parting, rng)
        dissatisfaction = (_DISSATISFACTION_DECAY * dissatisfaction + experience).astype(np.float32)
        _survey(sim, book, k, alive & started, dissatisfaction, nps_last, rng)
        recent_rate += started * (1 - _RECENT_DECAY) * (orders - recent_rate)
        long_run_rate += started * (1 - _LONG_RUN_DECAY) * (orders - long_run_rate)
        reactions.write(
            k,
            _log_odds(segment_logit, dissatisfaction, nps_last, recent_rate, long_run_rate),
            _damping(dissatisfaction),
        )
    return sim


@dataclass(frozen=True)
class _Reactions:
    """What clients act on, one reaction delay late: a ring of weekly snapshots.

    Slot ``slot(k)`` holds what the end of week k - size left behind and is read in week k,
    then overwritten by week k's own snapshot (see ``_reaction_steps`` for why).
    """

    log_odds: np.ndarray  # (size, n) weekly churn log-odds
    damping: np.ndarray  # (size, n) multiplier of the order rate

    @classmethod
    def constant(cls, size: int, log_odds: np.ndarray, damping: np.ndarray) -> _Reactions:
        return cls(np.repeat(log_odds[None, :], size, 0), np.repeat(damping[None, :], size, 0))

    def slot(self, step: int | np.ndarray) -> int | np.ndarray:
        return step % len(self.log_odds)

    def write(self, step: int, log_odds: np.ndarray, damping: np.ndarray) -> None:
        self.log_odds[self.slot(step)] = log_odds
        self.damping[self.slot(step)] = damping


def _damping(dissatisfaction: np.ndarray) -> np.ndarray:
    """Unhappy clients buy less before they leave (a visible thinning of orders)."""
    return np.exp(-_W_RATE_DISSATISFACTION * dissatisfaction).astype(np.float32)


def _initial_dissatisfaction(book: _Book) -> np.ndarray:
    """Pre-existing clients start at the level their propensities would have built up."""
    weekly_lines = book.base_rate * 1.3
    weekly = (
        book.complaint_propensity * (_COMPLAINT_PER_LINE * weekly_lines + _COMPLAINT_PER_WEEK)
        + _WEIGHT_RETURN * book.return_propensity * weekly_lines
    )
    level = weekly / (1 - _DISSATISFACTION_DECAY)
    return np.where(book.start_step > 0, 0.0, level).astype(np.float32)


def _log_odds(
    segment_logit: np.ndarray,
    dissatisfaction: np.ndarray,
    nps_last: np.ndarray,
    recent_rate: np.ndarray,
    long_run_rate: np.ndarray,
) -> np.ndarray:
    nps_gap = np.where(np.isnan(nps_last), 0.0, np.maximum(7.0 - nps_last, 0.0))
    decline = np.clip(np.log((long_run_rate + 0.02) / (recent_rate + 0.02)), 0.0, 3.0)
    eta = (
        _BASE_LOGIT
        + segment_logit
        + _W_DISSATISFACTION * dissatisfaction
        + _W_NPS_GAP * nps_gap
        + _W_DECLINE * decline
    )
    return eta.astype(np.float32)


def _sigmoid(x: np.ndarray) -> np.ndarray:
    return 1.0 / (1.0 + np.exp(-x))


def _oracle(
    book: _Book,
    alive: np.ndarray,
    phase: np.ndarray,
    reactions: _Reactions,
    cutoff_day: int,
    horizon_days: int,
    season: np.ndarray,
    dissatisfaction: np.ndarray,
) -> dict[str, np.ndarray]:
    """P(no order in days cutoff+1 .. cutoff+horizon | latent state at the end of the cutoff).

    The cutoff's own week has already drawn its departures. Each later week j of the horizon
    may see a departure with its (already fixed) hazard h_j. An account present through
    week m gets Poisson(X_m) clock ticks in the horizon, X_m = regularity x the sum of
    rate x share of each week inside the horizon, and orders unless fewer than the
    ``regularity - phase`` ticks it still needs arrive:
    P(no order) = sum_m P(last week present = m) * P(Poisson(X_m) < ticks needed).
    """
    first = cutoff_day // _STEP_DAYS
    steps = np.arange(first, (cutoff_day + horizon_days) // _STEP_DAYS + 1)
    lo = np.maximum(steps * _STEP_DAYS, cutoff_day + 1)
    hi = np.minimum((steps + 1) * _STEP_DAYS, cutoff_day + horizon_days + 1)
    share = np.clip(hi - lo, 0, _STEP_DAYS) / _STEP_DAYS
    n = book.n
    no_order = np.ones(n)
    staying = np.ones(n)
    expected = np.zeros(n)
    chunk = 1 << 17  # bounds the (accounts x weeks) temporaries for a million accounts
    for begin in range(0, n, chunk):
        rows = slice(begin, min(begin + chunk, n))
        slots = reactions.slot(steps)
        rate = book.rates(steps, season, rows) * reactions.damping[slots, rows].T
        cumulative = np.cumsum(rate * share, axis=1)
        hazard = _sigmoid(reactions.log_odds[slots[1:], rows].T.astype(np.float64))
        hazard *= book.start_step[rows, None] <= steps[None, 1:]
        present = np.cumprod(np.hstack([np.ones((hazard.shape[0], 1)), 1 - hazard]), axis=1)
        last_present = present - np.hstack([present[:, 1:], np.zeros((present.shape[0], 1))])
        ticks = cumulative * book.regularity[rows, None]
        needed = (book.regularity - phase)[rows, None]
        no_order[rows] = (last_present * _poisson_below(ticks, needed)).sum(axis=1)
        staying[rows] = present[:, -1]
        expected[rows] = cumulative[:, -1]
    rate_now = book.rates(np.array([first]), np.ones(first + 1))[:, 0]
    rate_now *= reactions.damping[reactions.slot(first)]
    return {
        "true_churn_probability": np.where(alive, no_order, 1.0),
        "departure_probability": np.where(alive, 1.0 - staying, 1.0),
        "expected_orders": np.where(alive, expected, 0.0),
        "alive": alive.copy(),
        "latent_rate": np.where(alive, rate_now, 0.0),
        "dissatisfaction": dissatisfaction.astype(np.float64),
    }


def _place_orders(
    book: _Book, phase: np.ndarray, rate: np.ndarray, k: int, rng: np.random.Generator
) -> tuple[np.ndarray, np.ndarray]:
    """Week k's orders as (account, day) pairs; advances ``phase`` in place.

    Buying is an Erlang renewal: an account of regularity r orders at every r-th tick of a
    Poisson clock running r times its order rate, so regular buyers rarely go quiet by
    chance. Ticks fall uniformly on the week's days; ``phase`` counts ticks since the
    last order.
    """
    ticks = rng.poisson(rate * book.regularity)
    ticking = np.flatnonzero(ticks)
    tick_account = np.repeat(ticking, ticks[ticking])
    tick_day = rng.integers(0, _STEP_DAYS, size=len(tick_account))
    by_time = np.lexsort((tick_day, tick_account))
    tick_account, tick_day = tick_account[by_time], tick_day[by_time]
    first_tick = np.repeat(np.cumsum(ticks[ticking]) - ticks[ticking], ticks[ticking])
    count = phase[tick_account] + np.arange(len(tick_account)) - first_tick + 1
    completes = count % book.regularity[tick_account] == 0
    total = phase + ticks
    phase[:] = total % book.regularity
    return tick_account[completes], k * _STEP_DAYS + tick_day[completes]


def _poisson_below(mean: np.ndarray, count: np.ndarray) -> np.ndarray:
    """P(Poisson(mean) < count), elementwise, for small integer counts."""
    term = np.exp(-mean)
    total = np.zeros_like(mean)
    for i in range(int(count.max())):
        total += np.where(i < count, term, 0.0)
        term = term * mean / (i + 1)
    return total


def _order_lines(
    sim: _Simulation,
    book: _Book,
    k: int,
    n_steps: int,
    order_account: np.ndarray,
    day: np.ndarray,
    rng: np.random.Generator,
) -> np.ndarray:
    """Append week k's order lines; return each account's bad experiences from them."""
    n = book.n
    n_new = len(order_account)
    if n_new == 0:
        return np.zeros(n, dtype=np.float32)
    seconds = rng.integers(9 * 3600, 20 * 3600, size=n_new).astype(np.float64)
    sequence = np.lexsort((seconds, day))  # order ids follow time, as an ERP numbers them
    order_account, day, seconds = order_account[sequence], day[sequence], seconds[sequence]
    extra_lines = np.array([s.extra_lines for s in SEGMENTS])[book.segment[order_account]]
    n_lines = 1 + rng.poisson(extra_lines)
    order = np.repeat(np.arange(n_new), n_lines)
    account = order_account[order]
    line_day = day[order]
    m = len(order)

    drifted = rng.random(m) < k / max(n_steps - 1, 1)
    cumulative = np.where(
        drifted[:, None], book.preference_end[account], book.preference_start[account]
    )
    category = (rng.random(m, dtype=np.float32)[:, None] > cumulative).sum(axis=1).astype(np.int8)
    price = np.array([c.price for c in CATEGORIES])[category]
    extra_quantity = np.array([c.extra_quantity for c in CATEGORIES])[category]
    quantity = 1 + rng.poisson(extra_quantity)
    spend = np.array([s.spend for s in SEGMENTS])[book.segment[account]]
    amount = np.round(price * spend * quantity * rng.lognormal(0.0, 0.35, size=m), 2)
    amount[rng.random(m) < _COMPLIMENTARY_LINES] = 0.0
    product = (_PRODUCTS_PER_CATEGORY * rng.random(m) ** 2).astype(np.int16)

    return_factor = np.array([c.return_factor for c in CATEGORIES])[category]
    returned = rng.random(m) < np.minimum(book.return_propensity[account] * return_factor, 0.9)
    return_day = line_day + 4 + rng.poisson(14.0, size=m)
    return_known = returned & (rng.random(m) >= _RETURN_DATE_MISSING)

    sim.lines["account"].append(account.astype(np.int32))
    sim.lines["day"].append(line_day.astype(np.int32))
    sim.lines["order"].append((sim.n_orders + order).astype(np.int64))
    sim.lines["category"].append(category)
    sim.lines["product"].append(product)
    sim.lines["quantity"].append(quantity.astype(np.int64))
    sim.lines["amount"].append(amount)
    sim.lines["returned"].append(returned)
    sim.lines["return_day"].append(return_day.astype(np.int32))
    sim.lines["return_known"].append(return_known)
    sim.lines["seconds"].append(seconds[order].astype(np.float32))
    sim.n_orders += n_new

    complaint = rng.random(m) < _COMPLAINT_PER_LINE * book.complaint_propensity[account]
    ticket = rng.random(m) < _TICKET_PER_LINE
    hours = _ticket_hours(book, account[ticket], rng)
    _add_events(sim, account[complaint], line_day[complaint] + rng.integers(1, 15, complaint.sum()),
                _COMPLAINT, np.full(complaint.sum(), np.nan), rng)  # fmt: skip
    _add_events(sim, account[ticket], line_day[ticket] + rng.integers(0, 10, ticket.sum()),
                _TICKET, hours, rng)  # fmt: skip
    return (
        np.bincount(account[complaint], minlength=n)
        + _WEIGHT_SLOW_TICKET
        * np.bincount(account[ticket], weights=hours > _SLOW_TICKET_HOURS, minlength=n)
        + _WEIGHT_RETURN * np.bincount(account, weights=returned, minlength=n)
    ).astype(np.float32)


def _ticket_hours(book: _Book, account: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    """Hours to resolve: lognormal around the account's (manager-driven) median."""
    return np.round(book.service_hours[account] * rng.lognormal(0.0, 0.8, size=len(account)), 1)


def _add_events(
    sim: _Simulation,
    account: np.ndarray,
    day: np.ndarray,
    kind: int,
    value: np.ndarray,
    rng: np.random.Generator,
) -> None:
    sim.events["account"].append(account.astype(np.int32))
    sim.events["day"].append(day.astype(np.int32))
    sim.events["seconds"].append(rng.integers(8 * 3600, 22 * 3600, size=len(account)))
    sim.events["type"].append(np.full(len(account), kind, dtype=np.int8))
    sim.events["value"].append(value.astype(np.float32))


def _service_events(
    sim: _Simulation,
    book: _Book,
    k: int,
    present: np.ndarray,
    parting: np.ndarray,
    rng: np.random.Generator,
) -> np.ndarray:
    """Week k's complaints and tickets not tied to an order, and newsletter clicks.

    Clients who left recently may still complain (refunds, disputes): those complaints are
    in the data but no longer move the churn process.
    """
    n = book.n
    u = rng.random(n, dtype=np.float32)
    complains = present & (u < _COMPLAINT_PER_WEEK * book.complaint_propensity)
    parting_complaint = np.flatnonzero(parting & (u < _PARTING_COMPLAINT_PER_WEEK))
    complaint = np.flatnonzero(complains)
    ticket = np.flatnonzero(present & (rng.random(n, dtype=np.float32) < _TICKET_PER_WEEK))
    # past clients still open the newsletter now and then: kept by the contract, unused
    started = book.start_step <= k
    clicks = np.flatnonzero(started & (rng.random(n, dtype=np.float32) < _NEWSLETTER_PER_WEEK))
    hours = _ticket_hours(book, ticket, rng)
    week = k * _STEP_DAYS
    for accounts, kind, value in (
        (complaint, _COMPLAINT, np.full(len(complaint), np.nan)),
        (parting_complaint, _COMPLAINT, np.full(len(parting_complaint), np.nan)),
        (ticket, _TICKET, hours),
        (clicks, _NEWSLETTER, np.full(len(clicks), np.nan)),
    ):
        day = week + rng.integers(0, _STEP_DAYS, size=len(accounts))
        _add_events(sim, accounts, day, kind, value, rng)
    experience = np.bincount(complaint, minlength=n) + _WEIGHT_SLOW_TICKET * np.bincount(
        ticket, weights=hours > _SLOW_TICKET_HOURS, minlength=n
    )
    return experience.astype(np.float32)


def _survey(
    sim: _Simulation,
    book: _Book,
    k: int,
    present: np.ndarray,
    dissatisfaction: np.ndarray,
    nps_last: np.ndarray,
    rng: np.random.Generator,
) -> None:
    """NPS answers: high by default, lower for dissatisfied or grumpy clients; updates
    ``nps_last`` in place."""
    asked = np.flatnonzero(present & (rng.random(book.n, dtype=np.float32) < _NPS_PER_WEEK))
    mood = 8.6 - 0.9 * dissatisfaction[asked] - 1.2 * book.grumpiness[asked]
    score = np.clip(np.round(mood + rng.normal(0.0, 1.2, size=len(asked))), 0, 10)
    nps_last[asked] = score
    day = k * _STEP_DAYS + rng.integers(0, _STEP_DAYS, size=len(asked))
    _add_events(sim, asked, day, _NPS, score, rng)


# -- frames as a retailer would export them ---------------------------------------------
def _ids(prefix: str, n: int, width: int) -> pa.Array:
    digits = pc.utf8_lpad(pc.cast(pa.array(np.arange(n, dtype=np.int64)), pa.string()), width, "0")
    return pc.binary_join_element_wise(prefix, digits, "")


def _timestamps(calendar: _Calendar, day: np.ndarray, seconds: np.ndarray) -> pa.Array:
    return pa.array(calendar.nanoseconds(day, seconds), type=pa.timestamp("ns"))


def _accounts_frame(
    book: _Book, account_ids: pa.Array, calendar: _Calendar, rng: np.random.Generator
) -> pd.DataFrame:
    names = manager_names(book.n_managers, rng)[book.manager]
    missing = rng.random(book.n) < _MISSING_MANAGER
    # exports show both conventions for "unassigned": an empty cell and a null
    names = np.where(missing & (rng.random(book.n) < 0.5), "", names)
    names = np.where(missing & (names != ""), None, names)
    table = pa.table(
        {
            "account_id": account_ids,
            "signup_date": _timestamps(calendar, book.signup_day, np.zeros(book.n)),
            "manager": pa.array(names, type=pa.string()),
            "region": pc.take(pa.array([r for r, _ in REGIONS]), book.region),
            "segment": pc.take(pa.array([s.name for s in SEGMENTS]), book.segment),
        }
    )
    return table.to_pandas()


def _orders_frame(sim: _Simulation, account_ids: pa.Array, calendar: _Calendar) -> pd.DataFrame:
    day = sim.column("lines", "day")
    category = sim.column("lines", "category")
    product = sim.column("lines", "product").astype(np.int32)
    # a return registered after the export date has not happened yet, as far as the data knows
    return_day = sim.column("lines", "return_day")
    returned = sim.column("lines", "returned") & (return_day < calendar.n_days)
    dated = returned & sim.column("lines", "return_known")
    return_ns = calendar.nanoseconds(return_day, np.full(len(day), 12 * 3600.0))
    products = pa.array(
        [f"{c.code}-{p:04d}" for c in CATEGORIES for p in range(_PRODUCTS_PER_CATEGORY)]
    )
    table = pa.table(
        {
            "order_id": pc.binary_join_element_wise(
                "O",
                pc.utf8_lpad(pc.cast(pa.array(sim.column("lines", "order")), pa.string()), 9, "0"),
                "",
            ),  # fmt: skip
            "account_id": pc.take(account_ids, sim.column("lines", "account")),
            "order_date": _timestamps(calendar, day, sim.column("lines", "seconds")),
            "category": pc.take(pa.array([c.name for c in CATEGORIES]), category),
            "product_id": pc.take(
                products, category.astype(np.int32) * _PRODUCTS_PER_CATEGORY + product
            ),
            "quantity": sim.column("lines", "quantity"),
            "amount": sim.column("lines", "amount"),
            "returned": returned,
            "return_date": pa.array(return_ns, type=pa.timestamp("ns"), mask=~dated),
        }
    )
    return table.to_pandas()


def _interactions_frame(
    sim: _Simulation, account_ids: pa.Array, calendar: _Calendar
) -> pd.DataFrame:
    day = sim.column("events", "day")
    keep = np.flatnonzero(day < calendar.n_days)  # filed after the export: not in the data
    ns = calendar.nanoseconds(day[keep], sim.column("events", "seconds")[keep])
    order = keep[np.argsort(ns, kind="stable")]
    ns = np.sort(ns, kind="stable")
    value = sim.column("events", "value")[order].astype(np.float64)
    table = pa.table(
        {
            "account_id": pc.take(account_ids, sim.column("events", "account")[order]),
            "event_date": pa.array(ns, type=pa.timestamp("ns")),
            "event_type": pc.take(pa.array(_EVENT_TYPES, type=pa.string()),
                                  sim.column("events", "type")[order]),
            "value": pa.array(value, mask=np.isnan(value)),
        }
    )  # fmt: skip
    return table.to_pandas()


def _truth_frame(
    sim: _Simulation,
    book: _Book,
    account_ids: pa.Array,
    calendar: _Calendar,
    cutoffs: list[pd.Timestamp],
    horizon_days: int,
) -> pd.DataFrame:
    """One row per (cutoff, account active at it), with the realised contract label.

    Active and churned are recomputed from the generated order days with the contract's
    rule, so they agree with any loader: an order on day d of the grid is dated within
    calendar day d, and the label window (T, T + H] covers whole days T+1 .. T+H.
    """
    account = sim.column("lines", "account")
    day = sim.column("lines", "day")
    frames = []
    for cutoff in cutoffs:
        t = calendar.day(cutoff)
        active = np.zeros(book.n, dtype=bool)
        active[account[(day <= t) & (day > t - 365)]] = True
        ordered = np.zeros(book.n, dtype=bool)
        ordered[account[(day > t) & (day <= t + horizon_days)]] = True
        rows = np.flatnonzero(active)
        oracle = sim.oracle[cutoff]
        columns = {
            "account_id": pc.take(account_ids, rows),
            "cutoff": pa.array(np.full(len(rows), cutoff.value), type=pa.timestamp("ns")),
            "true_churn_probability": oracle["true_churn_probability"][rows],
            "churned": ~ordered[rows],
        }
        for name in ("alive", "departure_probability", "expected_orders", "latent_rate",
                     "dissatisfaction"):  # fmt: skip
            columns[name] = oracle[name][rows]
        frames.append(pa.table(columns))
    return pa.concat_tables(frames).to_pandas()


def _check_positive_int(name: str, value: object) -> None:
    if not isinstance(value, int | np.integer) or isinstance(value, bool) or value <= 0:
        raise ValueError(
            f"The '{name}' of generate_demo_data must be a positive int. Got {value!r} instead."
        )
