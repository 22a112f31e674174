"""The closed-form churn oracle: P(no order in the horizon | latent state at a cutoff).

Why apart: the oracle is the yardstick, not part of the process. It draws nothing from the
generator and only reads the book, the state and the queued reactions, so it can be read
and checked on its own. It is exact rather than sampled because clients react one horizon
late (``kam_ml.demo.hazard.reaction_steps``): every hazard and order rate in
(T, T + horizon] is already fixed at T, and the probability is a finite sum over the week
the client may leave in.
"""

from __future__ import annotations

import numpy as np

from kam_ml.demo.book import STEP_DAYS, Book
from kam_ml.demo.hazard import Reactions, State, sigmoid

__all__ = ["oracle_snapshot"]


def oracle_snapshot(
    book: Book,
    state: State,
    reactions: Reactions,
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
    first = cutoff_day // STEP_DAYS
    steps = np.arange(first, (cutoff_day + horizon_days) // STEP_DAYS + 1)
    lo = np.maximum(steps * STEP_DAYS, cutoff_day + 1)
    hi = np.minimum((steps + 1) * STEP_DAYS, cutoff_day + horizon_days + 1)
    share = np.clip(hi - lo, 0, STEP_DAYS) / STEP_DAYS
    slots = np.asarray(reactions.slot(steps))
    n = book.n
    no_order, staying, expected = np.ones(n), np.zeros(n), np.zeros(n)
    chunk = 1 << 16  # bounds the (accounts x weeks) temporaries
    for begin in range(0, n, chunk):
        rows = slice(begin, min(begin + chunk, n))
        rate = book.rates(steps, season[steps], rows) * reactions.damping[slots, rows].T
        cumulative = np.cumsum(rate * share.astype(np.float32), axis=1, dtype=np.float64)
        hazard = sigmoid(reactions.log_odds[slots[1:], rows].T).astype(np.float64)
        hazard *= book.start_step[rows, None] <= steps[None, 1:]
        m = hazard.shape[0]
        present = np.cumprod(np.hstack([np.ones((m, 1)), 1 - hazard]), axis=1)
        last_present = present - np.hstack([present[:, 1:], np.zeros((m, 1))])
        ticks = cumulative * book.regularity[rows, None]
        needed = (book.regularity[rows] - state.phase[rows])[:, None]
        no_order[rows] = (last_present * _poisson_below(ticks, needed)).sum(axis=1)
        staying[rows] = present[:, -1]
        expected[rows] = cumulative[:, -1]
    gone = ~state.alive
    no_order[gone], staying[gone], expected[gone] = 1.0, 0.0, 0.0
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
