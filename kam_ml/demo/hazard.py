"""The planted churn law: what a client remembers, and how that becomes its weekly hazard.

Why apart: this is the truth a churn model is judged against, so it is written once, here,
and imported by both the simulation (which samples from it) and the oracle (which sums over
it). Every input is something a model can see in the client's history::

    logit(weekly hazard) = base + segment
                           + 2.2 x dissatisfaction   decayed count of complaints, slow
                                                     tickets (> 48 h) and returns
                           + 0.35 x NPS gap          points below 7 in the latest survey
                           + 1.3 x order decline     log(long-run / recent order rate)

Dissatisfaction also damps the order rate, so unhappy clients buy less before they leave.
Clients act on all of it one reaction delay late (``reaction_steps``, one horizon), which
is what lets the oracle be exact.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from kam_ml.demo.book import STEP_DAYS, Book

__all__ = [
    "DISSATISFACTION_DECAY",
    "SLOW_TICKET_HOURS",
    "WEIGHT_RETURN",
    "WEIGHT_SLOW_TICKET",
    "Experience",
    "Reactions",
    "State",
    "log_odds",
    "reaction_steps",
    "remember",
    "sigmoid",
]

# -- the weekly log-odds -----------------------------------------------------------------

_BASE_LOGIT = -7.9  # ~2% of satisfied, steadily buying gold clients leave per year
_W_DISSATISFACTION = 2.2  # per unit of dissatisfaction
_W_NPS_GAP = 0.35  # per NPS point below 7 in the latest survey
_W_DECLINE = 1.3  # per unit of log(long-run / recent order rate), capped at 3
_W_RATE_DISSATISFACTION = 0.4  # log-decline of the order rate per unit of dissatisfaction
DISSATISFACTION_DECAY = np.float32(np.exp(-1 / 26))  # a memory of about half a year
SLOW_TICKET_HOURS = 48.0
WEIGHT_SLOW_TICKET = 0.6  # dissatisfaction from one slow ticket (a complaint counts 1)
WEIGHT_RETURN = 0.35  # dissatisfaction from one returned line
_RECENT_DECAY = np.float32(np.exp(-1 / 8))  # the "recent" order rate: about two months
_LONG_RUN_DECAY = np.float32(np.exp(-1 / 52))  # the long-run order rate: about a year


@dataclass
class State:
    """What changes week by week, per account."""

    alive: np.ndarray  # still a client
    left_at: np.ndarray  # week the client left (far in the past when it has not)
    phase: np.ndarray  # Erlang ticks since the last order
    dissatisfaction: np.ndarray
    nps_last: np.ndarray  # NaN until the first survey answer
    recent_rate: np.ndarray  # exponentially weighted orders per week, short memory
    long_run_rate: np.ndarray  # same, long memory


Experience = tuple[np.ndarray, float]  # accounts and the dissatisfaction each one gains


def reaction_steps(horizon_days: int) -> int:
    """Weeks between an experience and the churn decision it drives.

    As many weeks as a horizon can touch, so that every hazard inside (T, T + horizon] is
    already fixed at T; this is what makes the oracle exact.
    """
    return horizon_days // STEP_DAYS + 1


def log_odds(segment_logit: np.ndarray, state: State) -> np.ndarray:
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


def sigmoid(x: np.ndarray) -> np.ndarray:
    return 1 / (1 + np.exp(-x))


@dataclass(frozen=True)
class Reactions:
    """What clients act on, one reaction delay late: a ring of weekly snapshots.

    ``slot(k)`` holds what the end of week k - size left behind; week k reads it, then
    overwrites it with its own snapshot (see ``reaction_steps`` for why the delay).
    """

    log_odds: np.ndarray  # (size, n) weekly churn log-odds
    damping: np.ndarray  # (size, n) multiplier of the order rate

    @classmethod
    def constant(cls, size: int, log_odds: np.ndarray, state: State) -> Reactions:
        damping = _damping(state)
        return cls(np.repeat(log_odds[None, :], size, 0), np.repeat(damping[None, :], size, 0))

    def slot(self, step: int | np.ndarray) -> int | np.ndarray:
        return step % len(self.log_odds)

    def write(self, step: int, log_odds: np.ndarray, state: State) -> None:
        self.log_odds[self.slot(step)] = log_odds
        self.damping[self.slot(step)] = _damping(state)


def _damping(state: State) -> np.ndarray:
    """Unhappy clients buy less before they leave: a visible thinning of their orders."""
    return np.exp(np.float32(-_W_RATE_DISSATISFACTION) * state.dissatisfaction)


def remember(
    state: State,
    book: Book,
    experiences: list[Experience],
    order_account: np.ndarray,
    waiting: np.ndarray,
) -> None:
    """Fold a week into the decayed memories; in place and sparse, so that a week of a
    million accounts allocates nothing per account."""
    state.dissatisfaction *= DISSATISFACTION_DECAY
    for accounts, weight in experiences:
        np.add.at(state.dissatisfaction, accounts, np.float32(weight))
    for memory, decay in (
        (state.recent_rate, _RECENT_DECAY),
        (state.long_run_rate, _LONG_RUN_DECAY),
    ):
        memory *= decay
        np.add.at(memory, order_account, 1 - decay)
        memory[waiting] = book.base_rate[waiting]  # accounts not started yet: their own rate
