"""What a simulated week writes down: order lines, service events and surveys.

Why apart: these are the facts a retailer's export shows and a model sees. Each is drawn
with its own noise (prices, quantities, returns, ticket durations, survey answers) that
feeds back into the churn process only through the bad experiences handed back to the
caller, so the weekly loop in ``kam_ml.demo.process`` can read as the process it is. Same
seed, same frames holds only while each function draws from the generator in the order it
does now.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Literal

import numpy as np
import pandas as pd

from kam_ml.demo.book import STEP_DAYS, Book
from kam_ml.demo.catalogue import CATEGORIES, SEGMENTS
from kam_ml.demo.hazard import (
    SLOW_TICKET_HOURS,
    WEIGHT_RETURN,
    WEIGHT_SLOW_TICKET,
    Experience,
    State,
)

__all__ = [
    "COMPLAINT_PER_LINE",
    "COMPLAINT_PER_WEEK",
    "EVENT_TYPES",
    "PARTING_WEEKS",
    "PRODUCTS_PER_CATEGORY",
    "Simulation",
    "order_lines",
    "service_events",
    "sparse_poisson",
    "survey",
]

# -- order lines -------------------------------------------------------------------------
_COMPLIMENTARY_LINES = 0.004  # lines at amount 0
PRODUCTS_PER_CATEGORY = 150

# -- service -----------------------------------------------------------------------------
COMPLAINT_PER_LINE = 0.01  # x the account's complaint propensity (mean ~1)
COMPLAINT_PER_WEEK = 0.01  # idem, not tied to an order
_PARTING_COMPLAINT_PER_WEEK = 0.04  # clients who left, during PARTING_WEEKS weeks
PARTING_WEEKS = 12
_TICKET_PER_LINE = 0.12
_TICKET_PER_WEEK = 0.01
_NPS_PER_WEEK = 0.06  # surveys: about three a year
_NEWSLETTER_PER_WEEK = 0.05
_RETURN_DATE_MISSING = 0.1  # returned lines exported without their return_date

EVENT_TYPES = ("complaint", "ticket", "nps", "newsletter_click")
_COMPLAINT, _TICKET, _NPS, _NEWSLETTER = range(4)


_SimTable = Literal["orders", "lines", "events"]


@dataclass
class Simulation:
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


def sparse_poisson(mean: np.ndarray, rng: np.random.Generator) -> np.ndarray:
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


def order_lines(
    sim: Simulation,
    book: Book,
    k: int,
    n_steps: int,
    order_account: np.ndarray,
    day: np.ndarray,
    rng: np.random.Generator,
) -> list[Experience]:
    """Record week k's order lines; return the (accounts, weight) of bad experiences."""
    n = book.n
    n_new = len(order_account)
    if n_new == 0:
        return []
    seconds = rng.integers(9 * 3600, 20 * 3600, size=n_new)
    by_time = np.lexsort((seconds, day))  # order ids follow time, as an ERP numbers them
    order_account, day, seconds = order_account[by_time], day[by_time], seconds[by_time]
    extra_lines = np.array([s.extra_lines for s in SEGMENTS])[book.segment[order_account]]
    order = np.repeat(np.arange(n_new), 1 + sparse_poisson(extra_lines, rng))
    account = order_account[order]
    line_day = day[order]
    m = len(order)

    drifted = rng.random(m) < k / max(n_steps - 1, 1)
    cumulative = book.preferences[account + n * drifted]
    u = rng.random(m, dtype=np.float32)
    category = (u[:, None] > cumulative).sum(axis=1).astype(np.int8)
    quantity = 1 + sparse_poisson(np.array([c.extra_quantity for c in CATEGORIES])[category], rng)
    price = np.array([c.price for c in CATEGORIES])[category]
    spend = np.array([s.spend for s in SEGMENTS])[book.segment[account]]
    amount = np.round(price * spend * quantity * rng.lognormal(0.0, 0.35, size=m), 2)
    amount[rng.random(m) < _COMPLIMENTARY_LINES] = 0.0
    product = (PRODUCTS_PER_CATEGORY * rng.random(m) ** 2).astype(np.int16)  # a few bestsellers

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
        quantity=quantity.astype(np.int16),
        amount=amount,
        returned=returned,
        return_day=return_day.astype(np.int32),
        return_dated=returned & (rng.random(m) >= _RETURN_DATE_MISSING),
    )
    sim.n_orders += n_new

    complaint = np.flatnonzero(
        rng.random(m) < COMPLAINT_PER_LINE * book.complaint_propensity[account]
    )
    ticket = np.flatnonzero(rng.random(m) < _TICKET_PER_LINE)
    hours = _ticket_hours(book, account[ticket], rng)
    complaint_day = line_day[complaint] + rng.integers(1, 15, size=len(complaint))
    _add_events(sim, account[complaint], complaint_day, _COMPLAINT, None, rng)
    ticket_day = line_day[ticket] + rng.integers(0, 10, size=len(ticket))
    _add_events(sim, account[ticket], ticket_day, _TICKET, hours, rng)
    return [
        (account[complaint], 1.0),
        (account[ticket][hours > SLOW_TICKET_HOURS], WEIGHT_SLOW_TICKET),
        (account[returned], WEIGHT_RETURN),
    ]


def _ticket_hours(book: Book, account: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    """Hours to resolve: lognormal around the account's (manager-led) median."""
    return np.round(book.service_hours[account] * rng.lognormal(0.0, 0.8, size=len(account)), 1)


def _add_events(
    sim: Simulation,
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


def service_events(
    sim: Simulation,
    book: Book,
    k: int,
    present: np.ndarray,
    parting: np.ndarray,
    rng: np.random.Generator,
) -> list[Experience]:
    """Week k's complaints and tickets not tied to an order, and newsletter clicks.

    Clients who left recently may still complain (refunds, disputes); those complaints are
    in the data but no longer move the churn process. Past clients also still click the
    newsletter: an event type the contract keeps but no feature uses.
    """
    n = book.n
    u = rng.random(n, dtype=np.float32)
    complaint = np.flatnonzero(present & (u < COMPLAINT_PER_WEEK * book.complaint_propensity))
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
        day = k * STEP_DAYS + rng.integers(0, STEP_DAYS, size=len(accounts))
        _add_events(sim, accounts, day, kind, value, rng)
    return [(complaint, 1.0), (ticket[hours > SLOW_TICKET_HOURS], WEIGHT_SLOW_TICKET)]


def survey(
    sim: Simulation,
    book: Book,
    k: int,
    present: np.ndarray,
    state: State,
    rng: np.random.Generator,
) -> None:
    """NPS answers: high by default, lower for dissatisfied or grumpy clients."""
    asked = np.flatnonzero(present & (rng.random(book.n, dtype=np.float32) < _NPS_PER_WEEK))
    mood = 8.6 - 0.9 * state.dissatisfaction[asked] - 1.2 * book.grumpiness[asked]
    score = np.clip(np.round(mood + rng.normal(0.0, 1.2, size=len(asked))), 0, 10)
    state.nps_last[asked] = score
    day = k * STEP_DAYS + rng.integers(0, STEP_DAYS, size=len(asked))
    _add_events(sim, asked, day, _NPS, score, rng)
