"""The weekly simulation: who leaves, who orders, and what the week leaves behind.

Why apart: this loop is the one place that advances time. Each week it draws departures
from the hazard (``kam_ml.demo.hazard``), places orders as an Erlang renewal, has
``kam_ml.demo.events`` record the week and folds the week into the clients' memories. At a
truth cutoff it splits the week at the end of the cutoff day and snapshots the oracle
(``kam_ml.demo.oracle``) there, so the oracle conditions on exactly the history up to T.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from kam_ml.demo.book import STEP_DAYS, Book, Calendar
from kam_ml.demo.catalogue import SEGMENTS
from kam_ml.demo.events import (
    COMPLAINT_PER_LINE,
    COMPLAINT_PER_WEEK,
    PARTING_WEEKS,
    Simulation,
    order_lines,
    service_events,
    sparse_poisson,
    survey,
)
from kam_ml.demo.hazard import (
    DISSATISFACTION_DECAY,
    WEIGHT_RETURN,
    Reactions,
    State,
    log_odds,
    remember,
    sigmoid,
)
from kam_ml.demo.oracle import oracle_snapshot

__all__ = ["simulate"]

_LINES_PER_ORDER = 1.11  # average, used only to start older clients' dissatisfaction


def simulate(
    book: Book,
    calendar: Calendar,
    cutoffs: list[pd.Timestamp],
    horizon_days: int,
    reaction: int,
    rng: np.random.Generator,
) -> Simulation:
    """Run the weeks in order, vectorised over accounts; snapshot the oracle at cutoffs."""
    n = book.n
    season = calendar.seasonality()
    sim = Simulation()
    start_rate = book.rate_at(0, np.float32(1.0))
    first_rate = np.where(book.start_step > 0, book.base_rate, start_rate)
    state = State(
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
    reactions = Reactions.constant(reaction + 1, log_odds(segment_logit, state), state)
    cutoff_at_step = {calendar.day(c) // STEP_DAYS: c for c in cutoffs}
    by_start = np.argsort(book.start_step, kind="stable")
    start_sorted = book.start_step[by_start]

    for k in range(calendar.n_steps):
        started = book.start_step <= k
        leaving = state.alive & started
        leaving &= rng.random(n, dtype=np.float32) < sigmoid(reactions.log_odds[reactions.slot(k)])
        state.alive &= ~leaving
        state.left_at[leaving] = k
        present = state.alive & started
        rate = book.rate_at(k, season[k]) * reactions.damping[reactions.slot(k)]
        rate *= present
        if k in cutoff_at_step:
            # the oracle conditions on the end of the cutoff day: buy up to it, then look
            cutoff = cutoff_at_step[k]
            split = calendar.day(cutoff) + 1 - k * STEP_DAYS
            before = _place_orders(book, state.phase, rate, k, 0, split, rng)
            sim.oracle[cutoff] = oracle_snapshot(
                book, state, reactions, calendar.day(cutoff), horizon_days, season
            )
            after = _place_orders(book, state.phase, rate, k, split, STEP_DAYS, rng)
            order_account = np.concatenate([before[0], after[0]])
            order_day = np.concatenate([before[1], after[1]])
        else:
            order_account, order_day = _place_orders(book, state.phase, rate, k, 0, 7, rng)
        experiences = [
            *order_lines(sim, book, k, calendar.n_steps, order_account, order_day, rng),
            *service_events(sim, book, k, present, k - state.left_at < PARTING_WEEKS, rng),
        ]
        survey(sim, book, k, present, state, rng)
        waiting = by_start[np.searchsorted(start_sorted, k, side="right") :]
        remember(state, book, experiences, order_account, waiting)
        reactions.write(k, log_odds(segment_logit, state), state)
    return sim


def _initial_dissatisfaction(book: Book) -> np.ndarray:
    """Older clients start at the level their propensities would have built up."""
    weekly_lines = book.base_rate * _LINES_PER_ORDER
    weekly = (
        book.complaint_propensity * (COMPLAINT_PER_LINE * weekly_lines + COMPLAINT_PER_WEEK)
        + WEIGHT_RETURN * book.return_propensity * weekly_lines
    )
    level = weekly / (1 - DISSATISFACTION_DECAY)
    return np.where(book.start_step > 0, 0.0, level).astype(np.float32)


def _place_orders(
    book: Book,
    phase: np.ndarray,
    rate: np.ndarray,
    k: int,
    first_day: int,
    end_day: int,
    rng: np.random.Generator,
) -> tuple[np.ndarray, np.ndarray]:
    """Orders of week k's days [first_day, end_day) as (account, day); advances ``phase``.

    Buying is an Erlang renewal: a client of regularity r orders at every r-th tick of a
    Poisson clock running r times its weekly order rate. Ticks fall uniformly on the days;
    ``phase`` counts the ticks since the last order.
    """
    share = np.float32((end_day - first_day) / STEP_DAYS)
    ticks = sparse_poisson(rate * share * book.regularity, rng)
    ticking = np.flatnonzero(ticks)
    per_account = ticks[ticking]
    tick_account = np.repeat(ticking, per_account)
    tick_day = rng.integers(first_day, end_day, size=len(tick_account))
    by_time = np.lexsort((tick_day, tick_account))
    tick_account, tick_day = tick_account[by_time], tick_day[by_time]
    rank = np.arange(len(tick_account)) - np.repeat(
        np.cumsum(per_account) - per_account, per_account
    )
    regularity = book.regularity[tick_account]
    completes = (phase[tick_account] + rank + 1) % regularity == 0
    phase[ticking] = (phase[ticking] + per_account) % book.regularity[ticking]
    return tick_account[completes], k * STEP_DAYS + tick_day[completes]
