"""A seeded generator of a luxury key-account book with planted, known churn truth.

Why a simulator: a model can only be judged against the truth it tries to recover, and here
that truth is written down. Accounts live on a weekly grid. Each week a client may leave,
with a hazard that is a logistic function of things a model can see in its history::

    logit(weekly hazard) = base + segment
                           + 2.2 x dissatisfaction   decayed count of complaints, slow
                                                     tickets (> 48 h) and returns
                           + 0.35 x NPS gap          points below 7 in the latest survey
                           + 1.3 x order decline     log(long-run / recent order rate)

Dissatisfied clients also buy less before they leave. A client who has left places no more
orders (though it may complain for a few weeks); one who stays buys as an Erlang renewal
process (regular buyers rarely go quiet by chance) at its base rate x seasonality (Q4
peak, summer dip) x a slow "thinning" for some accounts. Category preferences drift from
one Dirichlet draw to another over the years.

Clients react to their experience one horizon late (``_reaction_steps``). That is what
makes the oracle exact instead of sampled: at a cutoff T, every hazard and order rate of
the weeks up to T + horizon is already fixed by the latent state at T, so the probability
of "no order in (T, T + horizon]" is a finite sum over the week the client may leave in
(``_oracle``).

``generate_demo_data`` returns raw, contract-shaped frames (what a retailer would export)
and ``truth``: per cutoff and active account, that Bayes-optimal probability and the
realised label. ``DemoData.write`` keeps the truth in a ``truth/`` subfolder so that a
loader never mistakes it for a contract table.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
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

# -- the planted churn process (weekly log-odds) ------------------------------------------
_BASE_LOGIT = -7.9  # ~2% of satisfied, steadily buying gold clients leave per year
_W_DISSATISFACTION = 2.2  # per unit of dissatisfaction
_W_NPS_GAP = 0.35  # per NPS point below 7 in the latest survey
_W_DECLINE = 1.3  # per unit of log(long-run / recent order rate), capped at 3
_W_RATE_DISSATISFACTION = 0.4  # log-decline of the order rate per unit of dissatisfaction
_DISSATISFACTION_DECAY = np.float32(np.exp(-1 / 26))  # a memory of about half a year
_SLOW_TICKET_HOURS = 48.0
_WEIGHT_SLOW_TICKET = 0.6  # dissatisfaction from one slow ticket (a complaint counts 1)
_WEIGHT_RETURN = 0.35  # dissatisfaction from one returned line
_RECENT_DECAY = np.float32(np.exp(-1 / 8))  # the "recent" order rate: about two months
_LONG_RUN_DECAY = np.float32(np.exp(-1 / 52))  # the long-run order rate: about a year

# -- buying ------------------------------------------------------------------------------
_MEAN_WEEKLY_RATE = 0.22  # orders per week of an average gold client, before seasonality
_RATE_SHAPE = 6.0  # gamma shape of the base order rate across accounts
_REGULARITY_WEIGHTS = (0.15, 0.25, 0.35, 0.25)  # share of accounts with Erlang shape 1..4
_THINNING_SHARE = 0.25  # accounts whose order rate slowly decays after an onset week
_MAX_THINNING = 1.5  # cap on that log-decline
_NEWCOMER_SHARE = 0.35  # accounts signing up during the generated years
_DORMANT_SHARE = 0.03  # older accounts that never order in the generated years
_LINES_PER_ORDER = 1.17  # average, used only to start older clients' dissatisfaction
_COMPLIMENTARY_LINES = 0.004  # lines at amount 0
_PRODUCTS_PER_CATEGORY = 150

# -- service -----------------------------------------------------------------------------
_COMPLAINT_PER_LINE = 0.01  # x the account's complaint propensity (mean ~1)
_COMPLAINT_PER_WEEK = 0.01  # idem, not tied to an order
_PARTING_COMPLAINT_PER_WEEK = 0.04  # clients who left, during _PARTING_WEEKS weeks
_PARTING_WEEKS = 12
_TICKET_PER_LINE = 0.12
_TICKET_PER_WEEK = 0.01
_NPS_PER_WEEK = 0.06  # surveys: about three a year
_NEWSLETTER_PER_WEEK = 0.05
_RETURN_DATE_MISSING = 0.1  # returned lines exported without their return_date
_MISSING_MANAGER = 0.02
_ACCOUNTS_PER_MANAGER = 50

_EVENT_TYPES = ("complaint", "ticket", "nps", "newsletter_click")
_COMPLAINT, _TICKET, _NPS, _NEWSLETTER = range(4)


@dataclass(frozen=True)
class DemoData:
    """The generated book: four contract tables as exported, and the oracle truth.

    ``truth`` has one row per (cutoff, account active at the cutoff): ``account_id``,
    ``cutoff``, ``true_churn_probability`` (Bayes-optimal given the full latent state),
    ``churned`` (the realised contract label), and latent drivers: ``alive`` (still a
    client at the cutoff), ``departure_probability`` (gone by the end of the horizon),
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

        The truth sits in a subfolder because a loader reads the table files at the top
        level; an oracle next to the inputs would be one glob away from leaking into a model.
        """
        if fmt not in ("parquet", "csv"):
            raise ValueError(
                f"The 'fmt' of DemoData.write must be 'parquet' or 'csv'. Got {fmt!r} instead."
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
    months whose horizon ends by ``end_date``; the oracle needs the whole horizon inside
    the history, so later cutoffs are refused. ``horizon_days`` also sets the clients'
    reaction delay (see the module docstring), so change it only together with the
    horizon the models are trained for.
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
            f"({2 * reaction * _STEP_DAYS} days for horizon_days={horizon_days}). "
            f"Got {years!r} instead."
        )
    calendar = _Calendar(end + pd.Timedelta(days=1 - n_steps * _STEP_DAYS), n_steps)
    cutoffs = _truth_cutoffs(truth_cutoffs, calendar, end, horizon_days)
    rng = np.random.default_rng(seed)
    book = _draw_book(n_accounts, calendar, rng)
    sim = _simulate(book, calendar, cutoffs, horizon_days, reaction, rng)
    account_ids = _ids("A", n_accounts, width=max(6, len(str(n_accounts - 1))))
    return DemoData(
        accounts=_accounts_frame(book, account_ids, calendar, rng),
        orders=_orders_frame(sim, account_ids, calendar, rng),
        interactions=_interactions_frame(sim, account_ids, calendar),
        categories=pd.DataFrame(
            {
                "category": pd.array([c.name for c in CATEGORIES], dtype="str"),
                "margin_rate": np.array([c.margin_rate for c in CATEGORIES]),
            }
        ),
        truth=_truth_frame(sim, book.n, account_ids, calendar, cutoffs, horizon_days),
    )


# -- calendar ------------------------------------------------------------------------------
@dataclass(frozen=True)
class _Calendar:
    """Whole weeks ending on the end date; day 0 is the first day of week 0."""

    start: pd.Timestamp
    n_steps: int

    @property
    def n_days(self) -> int:
        return self.n_steps * _STEP_DAYS

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
        mid = self.start + pd.to_timedelta(np.arange(self.n_steps) * _STEP_DAYS + 3, unit="D")
        angle = 2 * np.pi * (mid.dayofyear.to_numpy() - 345) / 365.25
        days_from_peak = np.angle(np.exp(1j * angle)) * 365.25 / (2 * np.pi)
        holiday = np.exp(-((days_from_peak / 14) ** 2))
        return (1.0 + 0.15 * np.cos(angle) + 0.3 * holiday).astype(np.float32)


def _reaction_steps(horizon_days: int) -> int:
    """Weeks between an experience and the churn decision it drives.

    As many weeks as a horizon can touch, so that every hazard inside (T, T + horizon] is
    already fixed at T; this is what makes the oracle exact.
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
        return [
            m
            for m in month_ends
            if m > end - pd.DateOffset(months=12) and m + horizon <= end and m >= calendar.start
        ]
    cutoffs = sorted({pd.Timestamp(c).normalize() for c in requested})
    bad = [c for c in cutoffs if c + horizon > end or c < calendar.start]
    if bad:
        raise ValueError(
            f"The 'truth_cutoffs' of generate_demo_data must lie in "
            f"[{calendar.start.date()}, {(end - horizon).date()}] so that their horizon ends "
            f"inside the history. Got {[str(c.date()) for c in bad]} instead."
        )
    return cutoffs


# -- the latent book ---------------------------------------------------------------------
@dataclass(frozen=True)
class _Book:
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

    def rates(self, steps: np.ndarray, season: np.ndarray, rows: np.ndarray) -> np.ndarray:
        """``rate_at`` for accounts ``rows`` (axis 0) over ``steps`` (axis 1)."""
        weeks = np.maximum(steps[None, :] - self.thinning_onset[rows, None], 0)
        decline = np.minimum(self.thinning[rows, None] * weeks, _MAX_THINNING)
        started = self.start_step[rows, None] <= steps[None, :]
        return self.base_rate[rows, None] * season[None, :] * np.exp(-decline) * started


def _draw_book(n: int, calendar: _Calendar, rng: np.random.Generator) -> _Book:
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
    start_step = np.where(newcomer, signup_day // _STEP_DAYS + 1, 0).astype(np.int32)

    segment_rate = np.array([s.rate for s in SEGMENTS])[segment]
    base_rate = rng.gamma(_RATE_SHAPE, _MEAN_WEEKLY_RATE / _RATE_SHAPE, size=n) * segment_rate
    regularity = rng.choice(len(_REGULARITY_WEIGHTS), size=n, p=_REGULARITY_WEIGHTS) + 1
    thins = rng.random(n) < _THINNING_SHARE
    thinning = np.where(thins, rng.uniform(0.4, 1.8, size=n) / 52, 0.0)
    onset = rng.integers(-52, calendar.n_steps, size=n)
    service_hours = 10.0 * manager_speed[manager] * rng.lognormal(0.0, 0.3, size=n)
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


# -- the weekly simulation ---------------------------------------------------------------
@dataclass
class _State:
    """What changes week by week, per account."""

    alive: np.ndarray  # still a client
    left_at: np.ndarray  # week the client left (far in the past when it has not)
    phase: np.ndarray  # Erlang ticks since the last order
    dissatisfaction: np.ndarray
    nps_last: np.ndarray  # NaN until the first survey answer
    recent_rate: np.ndarray  # exponentially weighted orders per week, short memory
    long_run_rate: np.ndarray  # same, long memory


_SimTable = Literal["orders", "lines", "events"]


@dataclass
class _Simulation:
    """What the run produced: event columns (concatenated at the end) and oracle snapshots."""

    orders: dict[str, list[np.ndarray]] = field(default_factory=dict)
    lines: dict[str, list[np.ndarray]] = field(default_factory=dict)
    events: dict[str, list[np.ndarray]] = field(default_factory=dict)
    oracle: dict[pd.Timestamp, dict[str, np.ndarray]] = field(default_factory=dict)
    n_orders: int = 0

    def add(self, table: _SimTable, **columns: np.ndarray) -> None:
        target = getattr(self, table)
        for name, values in columns.items():
            target.setdefault(name, []).append(values)

    def take(self, table: _SimTable, name: str) -> np.ndarray:
        """The concatenated column; the weekly pieces are released to bound memory."""
        pieces = getattr(self, table).pop(name)
        return np.concatenate(pieces)


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
    sim = _Simulation()
    start_rate = book.rate_at(0, np.float32(1.0))
    first_rate = np.where(book.start_step > 0, book.base_rate, start_rate)
    state = _State(
        alive=~book.dormant,
        left_at=np.full(n, -(1 << 20), dtype=np.int32),
        # older clients are anywhere in their buying cycle; a newcomer buys soon
        phase=np.where(
            book.start_step > 0, book.regularity - 1, rng.integers(0, 12, size=n) % book.regularity
        ).astype(np.int32),
        dissatisfaction=_initial_dissatisfaction(book),
        nps_last=np.full(n, np.nan, dtype=np.float32),
        recent_rate=first_rate,
        long_run_rate=first_rate.copy(),
    )
    segment_logit = np.array([s.churn_logit for s in SEGMENTS], dtype=np.float32)[book.segment]
    reactions = _Reactions.constant(reaction + 1, _log_odds(segment_logit, state), state)
    cutoff_at_step = {calendar.day(c) // _STEP_DAYS: c for c in cutoffs}

    for k in range(calendar.n_steps):
        started = book.start_step <= k
        hazard = _sigmoid(reactions.log_odds[reactions.slot(k)])
        leaving = state.alive & started & (rng.random(n, dtype=np.float32) < hazard)
        state.alive &= ~leaving
        state.left_at[leaving] = k
        if k in cutoff_at_step:
            cutoff = cutoff_at_step[k]
            sim.oracle[cutoff] = _oracle(
                book, state, reactions, calendar.day(cutoff), horizon_days, season
            )
        present = state.alive & started
        rate = book.rate_at(k, season[k]) * reactions.damping[reactions.slot(k)]
        rate *= present
        order_account, order_day = _place_orders(book, state.phase, rate, k, rng)
        experience = _order_lines(sim, book, k, calendar.n_steps, order_account, order_day, rng)
        parting = k - state.left_at < _PARTING_WEEKS
        experience += _service_events(sim, book, k, present, parting, rng)
        state.dissatisfaction *= _DISSATISFACTION_DECAY
        state.dissatisfaction += experience
        _survey(sim, book, k, present, state, rng)
        orders = np.bincount(order_account, minlength=n).astype(np.float32)
        state.recent_rate += started * (1 - _RECENT_DECAY) * (orders - state.recent_rate)
        state.long_run_rate += started * (1 - _LONG_RUN_DECAY) * (orders - state.long_run_rate)
        reactions.write(k, _log_odds(segment_logit, state), state)
    return sim


def _initial_dissatisfaction(book: _Book) -> np.ndarray:
    """Older clients start at the level their propensities would have built up."""
    weekly_lines = book.base_rate * _LINES_PER_ORDER
    weekly = (
        book.complaint_propensity * (_COMPLAINT_PER_LINE * weekly_lines + _COMPLAINT_PER_WEEK)
        + _WEIGHT_RETURN * book.return_propensity * weekly_lines
    )
    level = weekly / (1 - _DISSATISFACTION_DECAY)
    return np.where(book.start_step > 0, 0.0, level).astype(np.float32)


def _log_odds(segment_logit: np.ndarray, state: _State) -> np.ndarray:
    """Weekly churn log-odds from the visible history summarised in ``state``."""
    nps_gap = np.nan_to_num(np.maximum(7.0 - state.nps_last, 0.0), nan=0.0)
    decline = np.log((state.long_run_rate + 0.02) / (state.recent_rate + 0.02))
    return (
        _BASE_LOGIT
        + segment_logit
        + _W_DISSATISFACTION * state.dissatisfaction
        + _W_NPS_GAP * nps_gap
        + _W_DECLINE * np.clip(decline, 0.0, 3.0)
    ).astype(np.float32)


def _sigmoid(x: np.ndarray) -> np.ndarray:
    return 1 / (1 + np.exp(-x))


@dataclass(frozen=True)
class _Reactions:
    """What clients act on, one reaction delay late: a ring of weekly snapshots.

    ``slot(k)`` holds what the end of week k - size left behind; week k reads it, then
    overwrites it with its own snapshot (see ``_reaction_steps`` for why the delay).
    """

    log_odds: np.ndarray  # (size, n) weekly churn log-odds
    damping: np.ndarray  # (size, n) multiplier of the order rate

    @classmethod
    def constant(cls, size: int, log_odds: np.ndarray, state: _State) -> _Reactions:
        damping = _damping(state)
        return cls(np.repeat(log_odds[None, :], size, 0), np.repeat(damping[None, :], size, 0))

    def slot(self, step: int | np.ndarray) -> int | np.ndarray:
        return step % len(self.log_odds)

    def write(self, step: int, log_odds: np.ndarray, state: _State) -> None:
        self.log_odds[self.slot(step)] = log_odds
        self.damping[self.slot(step)] = _damping(state)


def _damping(state: _State) -> np.ndarray:
    """Unhappy clients buy less before they leave: a visible thinning of their orders."""
    return np.exp(np.float32(-_W_RATE_DISSATISFACTION) * state.dissatisfaction)


def _oracle(
    book: _Book,
    state: _State,
    reactions: _Reactions,
    cutoff_day: int,
    horizon_days: int,
    season: np.ndarray,
) -> dict[str, np.ndarray]:
    """P(no order in days cutoff+1 .. cutoff+horizon | latent state at the end of the cutoff).

    The cutoff's own week has already drawn its departures. Each later week j of the horizon
    may see one with its (already fixed) hazard h_j. A client present through week m gets
    Poisson(X_m) Erlang ticks inside the horizon (X_m = regularity x the sum over weeks of
    rate x the share of the week inside the horizon) and orders unless fewer than the
    ``regularity - phase`` ticks it still needs arrive:
    P(no order) = sum_m P(last week present = m) x P(Poisson(X_m) < ticks needed).
    """
    first = cutoff_day // _STEP_DAYS
    steps = np.arange(first, (cutoff_day + horizon_days) // _STEP_DAYS + 1)
    lo = np.maximum(steps * _STEP_DAYS, cutoff_day + 1)
    hi = np.minimum((steps + 1) * _STEP_DAYS, cutoff_day + horizon_days + 1)
    share = np.clip(hi - lo, 0, _STEP_DAYS) / _STEP_DAYS
    slots = reactions.slot(steps)
    n = book.n
    no_order, staying, expected = np.ones(n), np.zeros(n), np.zeros(n)
    alive = np.flatnonzero(state.alive)
    for begin in range(0, len(alive), 1 << 16):  # bounds the (accounts x weeks) temporaries
        rows = alive[begin : begin + (1 << 16)]
        rate = book.rates(steps, season[steps], rows) * reactions.damping[slots][:, rows].T
        cumulative = np.cumsum(rate * share, axis=1, dtype=np.float64)
        hazard = _sigmoid(reactions.log_odds[slots[1:]][:, rows].T.astype(np.float64))
        hazard *= book.start_step[rows, None] <= steps[None, 1:]
        present = np.cumprod(np.hstack([np.ones((len(rows), 1)), 1 - hazard]), axis=1)
        last_present = present - np.hstack([present[:, 1:], np.zeros((len(rows), 1))])
        ticks = cumulative * book.regularity[rows, None]
        needed = (book.regularity - state.phase)[rows, None]
        no_order[rows] = (last_present * _poisson_below(ticks, needed)).sum(axis=1)
        staying[rows] = present[:, -1]
        expected[rows] = cumulative[:, -1]
    rate_now = book.rate_at(first, np.float32(1.0)) * reactions.damping[reactions.slot(first)]
    return {
        "true_churn_probability": no_order,
        "departure_probability": 1.0 - staying,
        "expected_orders": expected,
        "alive": state.alive.copy(),
        "latent_rate": np.where(state.alive, rate_now, 0.0),
        "dissatisfaction": state.dissatisfaction.astype(np.float64),
    }


def _poisson_below(mean: np.ndarray, count: np.ndarray) -> np.ndarray:
    """P(Poisson(mean) < count), elementwise, for small integer counts."""
    term = np.exp(-mean)
    total = np.zeros_like(mean)
    for i in range(int(count.max())):
        total += np.where(i < count, term, 0.0)
        term = term * mean / (i + 1)
    return total


def _place_orders(
    book: _Book, phase: np.ndarray, rate: np.ndarray, k: int, rng: np.random.Generator
) -> tuple[np.ndarray, np.ndarray]:
    """Week k's orders as (account, day) pairs; advances ``phase`` in place.

    Buying is an Erlang renewal: a client of regularity r orders at every r-th tick of a
    Poisson clock running r times its order rate. Ticks fall uniformly on the week's days;
    ``phase`` counts the ticks since the last order.
    """
    ticks = _sparse_poisson(rate * book.regularity, rng)
    ticking = np.flatnonzero(ticks)
    per_account = ticks[ticking]
    tick_account = np.repeat(ticking, per_account)
    tick_day = rng.integers(0, _STEP_DAYS, size=len(tick_account))
    by_time = np.lexsort((tick_day, tick_account))
    tick_account, tick_day = tick_account[by_time], tick_day[by_time]
    rank = np.arange(len(tick_account)) - np.repeat(
        np.cumsum(per_account) - per_account, per_account
    )
    regularity = book.regularity[tick_account]
    completes = (phase[tick_account] + rank + 1) % regularity == 0
    phase[ticking] = (phase[ticking] + per_account) % book.regularity[ticking]
    return tick_account[completes], k * _STEP_DAYS + tick_day[completes]


def _sparse_poisson(mean: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    """Exact Poisson draws by inversion, iterating only over the entries that are not zero.

    ``Generator.poisson`` costs ~35 ns an entry whatever the mean; with weekly means well
    below one, a float32 uniform and exp per entry plus work on the rare non-zero draws is
    several times faster.
    """
    u = rng.random(len(mean), dtype=np.float32)
    zero = np.exp(-mean.astype(np.float32))
    rows = np.flatnonzero(u >= zero)
    count = np.zeros(len(mean), dtype=np.int64)
    u, term, mean = u[rows].astype(np.float64), zero[rows].astype(np.float64), mean[rows]
    cdf = term.copy()
    k = 0
    while len(rows) and k < 100:  # rounding can leave u above a cdf of 1 - eps
        k += 1
        count[rows] = k
        term = term * mean / k
        cdf += term
        more = u >= cdf
        rows, u, term, cdf, mean = rows[more], u[more], term[more], cdf[more], mean[more]
    return count


def _order_lines(
    sim: _Simulation,
    book: _Book,
    k: int,
    n_steps: int,
    order_account: np.ndarray,
    day: np.ndarray,
    rng: np.random.Generator,
) -> np.ndarray:
    """Record week k's order lines; return each account's dissatisfaction from them."""
    n = book.n
    n_new = len(order_account)
    if n_new == 0:
        return np.zeros(n, dtype=np.float32)
    seconds = rng.integers(9 * 3600, 20 * 3600, size=n_new)
    by_time = np.lexsort((seconds, day))  # order ids follow time, as an ERP numbers them
    order_account, day, seconds = order_account[by_time], day[by_time], seconds[by_time]
    extra_lines = np.array([s.extra_lines for s in SEGMENTS])[book.segment[order_account]]
    order = np.repeat(np.arange(n_new), 1 + _sparse_poisson(extra_lines, rng))
    account = order_account[order]
    line_day = day[order]
    m = len(order)

    drifted = rng.random(m) < k / max(n_steps - 1, 1)
    cumulative = book.preferences[account + n * drifted]
    u = rng.random(m, dtype=np.float32)
    category = (u[:, None] > cumulative).sum(axis=1).astype(np.int8)
    quantity = 1 + _sparse_poisson(np.array([c.extra_quantity for c in CATEGORIES])[category], rng)
    price = np.array([c.price for c in CATEGORIES])[category]
    spend = np.array([s.spend for s in SEGMENTS])[book.segment[account]]
    amount = np.round(price * spend * quantity * rng.lognormal(0.0, 0.35, size=m), 2)
    amount[rng.random(m) < _COMPLIMENTARY_LINES] = 0.0
    product = (_PRODUCTS_PER_CATEGORY * rng.random(m) ** 2).astype(np.int16)  # a few bestsellers

    return_factor = np.array([c.return_factor for c in CATEGORIES])[category]
    returned = rng.random(m) < np.minimum(book.return_propensity[account] * return_factor, 0.9)
    return_day = line_day.copy()
    return_day[returned] += 4 + rng.poisson(14.0, size=int(returned.sum()))
    sim.add("orders", account=order_account.astype(np.int32), day=day.astype(np.int32))
    sim.add(
        "lines",
        account=account.astype(np.int32),
        day=line_day.astype(np.int32),
        seconds=seconds[order].astype(np.int32),
        order=(sim.n_orders + order).astype(np.int64),
        category=category,
        product=product,
        quantity=quantity,
        amount=amount,
        returned=returned,
        return_day=return_day.astype(np.int32),
        return_dated=returned & (rng.random(m) >= _RETURN_DATE_MISSING),
    )
    sim.n_orders += n_new

    complaint = np.flatnonzero(
        rng.random(m) < _COMPLAINT_PER_LINE * book.complaint_propensity[account]
    )
    ticket = np.flatnonzero(rng.random(m) < _TICKET_PER_LINE)
    hours = _ticket_hours(book, account[ticket], rng)
    complaint_day = line_day[complaint] + rng.integers(1, 15, size=len(complaint))
    _add_events(sim, account[complaint], complaint_day, _COMPLAINT, None, rng)
    ticket_day = line_day[ticket] + rng.integers(0, 10, size=len(ticket))
    _add_events(sim, account[ticket], ticket_day, _TICKET, hours, rng)
    experience = (
        np.bincount(account[complaint], minlength=n)
        + _WEIGHT_SLOW_TICKET
        * np.bincount(account[ticket], weights=hours > _SLOW_TICKET_HOURS, minlength=n)
        + _WEIGHT_RETURN * np.bincount(account, weights=returned, minlength=n)
    )
    return experience.astype(np.float32)


def _ticket_hours(book: _Book, account: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    """Hours to resolve: lognormal around the account's (manager-led) median."""
    return np.round(book.service_hours[account] * rng.lognormal(0.0, 0.8, size=len(account)), 1)


def _add_events(
    sim: _Simulation,
    account: np.ndarray,
    day: np.ndarray,
    kind: int,
    value: np.ndarray | None,
    rng: np.random.Generator,
) -> None:
    sim.add(
        "events",
        account=account.astype(np.int32),
        day=day.astype(np.int32),
        seconds=rng.integers(8 * 3600, 22 * 3600, size=len(account)).astype(np.int32),
        kind=np.full(len(account), kind, dtype=np.int8),
        value=(np.full(len(account), np.nan) if value is None else value).astype(np.float32),
    )


def _service_events(
    sim: _Simulation,
    book: _Book,
    k: int,
    present: np.ndarray,
    parting: np.ndarray,
    rng: np.random.Generator,
) -> np.ndarray:
    """Week k's complaints and tickets not tied to an order, and newsletter clicks.

    Clients who left recently may still complain (refunds, disputes); those complaints are
    in the data but no longer move the churn process. Past clients also still click the
    newsletter: an event type the contract keeps but no feature uses.
    """
    n = book.n
    u = rng.random(n, dtype=np.float32)
    complaint = np.flatnonzero(present & (u < _COMPLAINT_PER_WEEK * book.complaint_propensity))
    parting_complaint = np.flatnonzero(parting & (u < _PARTING_COMPLAINT_PER_WEEK))
    ticket = np.flatnonzero(present & (rng.random(n, dtype=np.float32) < _TICKET_PER_WEEK))
    hours = _ticket_hours(book, ticket, rng)
    started = book.start_step <= k
    click = np.flatnonzero(started & (rng.random(n, dtype=np.float32) < _NEWSLETTER_PER_WEEK))
    for accounts, kind, value in (
        (complaint, _COMPLAINT, None),
        (parting_complaint, _COMPLAINT, None),
        (ticket, _TICKET, hours),
        (click, _NEWSLETTER, None),
    ):
        day = k * _STEP_DAYS + rng.integers(0, _STEP_DAYS, size=len(accounts))
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
    state: _State,
    rng: np.random.Generator,
) -> None:
    """NPS answers: high by default, lower for dissatisfied or grumpy clients."""
    asked = np.flatnonzero(present & (rng.random(book.n, dtype=np.float32) < _NPS_PER_WEEK))
    mood = 8.6 - 0.9 * state.dissatisfaction[asked] - 1.2 * book.grumpiness[asked]
    score = np.clip(np.round(mood + rng.normal(0.0, 1.2, size=len(asked))), 0, 10)
    state.nps_last[asked] = score
    day = k * _STEP_DAYS + rng.integers(0, _STEP_DAYS, size=len(asked))
    _add_events(sim, asked, day, _NPS, score, rng)


# -- frames as a retailer would export them ---------------------------------------------
def _ids(prefix: str, n: int, width: int) -> pa.Array:
    digits = pc.cast(pa.array(np.arange(n, dtype=np.int64)), pa.string())
    return pc.binary_join_element_wise(prefix, pc.utf8_lpad(digits, width, "0"), "")


def _timestamps(
    calendar: _Calendar, day: np.ndarray, seconds: np.ndarray, mask: np.ndarray | None = None
) -> pa.Array:
    return pa.array(calendar.nanoseconds(day, seconds), type=pa.timestamp("ns"), mask=mask)


def _accounts_frame(
    book: _Book, account_ids: pa.Array, calendar: _Calendar, rng: np.random.Generator
) -> pd.DataFrame:
    names = manager_names(book.n_managers, rng)[book.manager]
    missing = rng.random(book.n) < _MISSING_MANAGER
    # exports show both spellings of "unassigned": an empty cell and a null
    empty = missing & (rng.random(book.n) < 0.5)
    names[empty] = ""
    names[missing & ~empty] = None
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


def _orders_frame(
    sim: _Simulation, account_ids: pa.Array, calendar: _Calendar, rng: np.random.Generator
) -> pd.DataFrame:
    category = sim.take("lines", "category").astype(np.int32)
    product = sim.take("lines", "product") + category * _PRODUCTS_PER_CATEGORY
    # a return registered after the export date has not happened, as far as the data knows
    return_day = sim.take("lines", "return_day")
    returned = sim.take("lines", "returned") & (return_day < calendar.n_days)
    dated = returned & sim.take("lines", "return_dated")
    return_seconds = rng.integers(10 * 3600, 18 * 3600, size=len(return_day))
    codes = [f"{c.code}-{p:04d}" for c in CATEGORIES for p in range(_PRODUCTS_PER_CATEGORY)]
    order_number = pc.cast(pa.array(sim.take("lines", "order")), pa.string())
    table = pa.table(
        {
            "order_id": pc.binary_join_element_wise("O", pc.utf8_lpad(order_number, 9, "0"), ""),
            "account_id": pc.take(account_ids, sim.take("lines", "account")),
            "order_date": _timestamps(
                calendar, sim.take("lines", "day"), sim.take("lines", "seconds")
            ),
            "category": pc.take(pa.array([c.name for c in CATEGORIES]), category),
            "product_id": pc.take(pa.array(codes), product),
            "quantity": sim.take("lines", "quantity"),
            "amount": sim.take("lines", "amount"),
            "returned": returned,
            "return_date": _timestamps(calendar, return_day, return_seconds, mask=~dated),
        }
    )
    return table.to_pandas()


def _interactions_frame(
    sim: _Simulation, account_ids: pa.Array, calendar: _Calendar
) -> pd.DataFrame:
    day = sim.take("events", "day")
    keep = np.flatnonzero(day < calendar.n_days)  # filed after the export: not in the data
    ns = calendar.nanoseconds(day[keep], sim.take("events", "seconds")[keep])
    by_time = np.argsort(ns, kind="stable")
    rows = keep[by_time]
    value = sim.take("events", "value")[rows].astype(np.float64)
    table = pa.table(
        {
            "account_id": pc.take(account_ids, sim.take("events", "account")[rows]),
            "event_date": pa.array(ns[by_time], type=pa.timestamp("ns")),
            "event_type": pc.take(pa.array(_EVENT_TYPES), sim.take("events", "kind")[rows]),
            "value": pa.array(value, mask=np.isnan(value)),
        }
    )
    return table.to_pandas()


def _truth_frame(
    sim: _Simulation,
    n: int,
    account_ids: pa.Array,
    calendar: _Calendar,
    cutoffs: list[pd.Timestamp],
    horizon_days: int,
) -> pd.DataFrame:
    """One row per (cutoff, account active at it), with the realised contract label.

    Active and churned are recomputed from the generated order days with the contract's
    rules: an order on grid day d is dated within calendar day d, the active window is the
    365 days up to and including T, and the label window (T, T + H] covers days T+1 .. T+H.
    """
    order_account = sim.take("orders", "account")
    order_day = sim.take("orders", "day")
    frames = []
    for cutoff in cutoffs:
        t = calendar.day(cutoff)
        active = np.zeros(n, dtype=bool)
        active[order_account[(order_day <= t) & (order_day > t - 365)]] = True
        ordered = np.zeros(n, dtype=bool)
        ordered[order_account[(order_day > t) & (order_day <= t + horizon_days)]] = True
        rows = np.flatnonzero(active)
        oracle = sim.oracle[cutoff]
        columns = {
            "account_id": pc.take(account_ids, rows),
            "cutoff": pa.array(np.full(len(rows), cutoff.value), type=pa.timestamp("ns")),
            "true_churn_probability": oracle["true_churn_probability"][rows],
            "churned": ~ordered[rows],
        }
        for name in (
            "alive",
            "departure_probability",
            "expected_orders",
            "latent_rate",
            "dissatisfaction",
        ):
            columns[name] = oracle[name][rows]
        frames.append(pa.table(columns))
    return pa.concat_tables(frames).to_pandas()


def _check_positive_int(name: str, value: object) -> None:
    if not isinstance(value, int | np.integer) or isinstance(value, bool) or value <= 0:
        raise ValueError(
            f"The '{name}' of generate_demo_data must be a positive int. Got {value!r} instead."
        )
