"""The problem definition, and the ONE place that cuts history at a cutoff.

No other module compares a date with a cutoff: features ask for the history known at T
(``history_at``) and for row ages (``age_days``); labels ask for the label window
(``label_window_orders``). Keeping the rule here is what makes point-in-time correctness
testable in one place.
"""

from __future__ import annotations

import math
from collections.abc import Iterable
from dataclasses import asdict, dataclass, replace
from typing import Any

import numpy as np
import pandas as pd

from kam_ml.data.tables import Tables
from kam_ml.errors import (
    DefinitionError,
    NotEnoughHistoryError,
    require_non_negative_int,
    require_positive_int,
)

__all__ = [
    "ACCOUNT_HOLDOUT_FRACTION",
    "ADAPTED_MIN_HISTORY_DAYS",
    "ADAPTIVE_STEPS_DAYS",
    "MIN_TRAINING_CUTOFFS",
    "CutoffLayout",
    "ProblemDefinition",
]

_DAY = pd.Timedelta(days=1)
_DAYS_PER_MONTH = 365.25 / 12

MIN_TRAINING_CUTOFFS = 2
"""Fewest training cutoffs a model can learn from: the newest calibrates, the older ones fit."""

ADAPTIVE_STEPS_DAYS = (30, 14, 7)
"""Cutoff steps a layout may adapt to (monthly, fortnightly, weekly); never finer than a
week, so a cutoff's rows are not near-copies of the next one's."""

ADAPTED_MIN_HISTORY_DAYS = 30
"""Lowest history floor an adapted layout falls to: every cutoff still sees a month of
orders, so accounts are not all "new" because the data, not the account, starts there."""

ACCOUNT_HOLDOUT_FRACTION = 0.2
"""Share of accounts an account-holdout layout holds out (see ``CutoffLayout``)."""


@dataclass(frozen=True)
class CutoffLayout:
    """The cutoffs of one training run, each on one side of the backtest, oldest first.

    Embargoed cutoffs lie between the two sides: their label windows reach past the first
    validation cutoff, so a validation-period order would shape their labels. They neither
    train nor validate, but they are still built (``cutoffs``), which keeps the feature
    frames -- and everything derived from them -- what they were before the layout existed.
    ``step_days`` and ``min_history_days`` are those the cutoffs were laid out with (None
    for cutoffs taken from a frame); ``adapted`` says they are not the definition's own
    (see ``ProblemDefinition.training_layout``).

    ``holdout_fraction`` is set only on an *account holdout*, the fallback for histories
    too short for any out-of-time layout: every labelled cutoff trains and the newest also
    validates, but on different accounts -- a stable hash of ``account_id`` holds out that
    share of them (``kam_ml.problem.splits.held_out_accounts``). Its evidence is in-time:
    it does not test drift, and ``describe`` says so.
    """

    train_cutoffs: tuple[pd.Timestamp, ...]
    embargoed_cutoffs: tuple[pd.Timestamp, ...]
    validation_cutoffs: tuple[pd.Timestamp, ...]
    step_days: int | None = None
    min_history_days: int | None = None
    adapted: bool = False
    holdout_fraction: float | None = None

    @property
    def account_holdout(self) -> bool:
        """Whether validation holds out accounts on the training cutoffs, not later cutoffs."""
        return self.holdout_fraction is not None

    @property
    def cutoffs(self) -> list[pd.Timestamp]:
        """Every cutoff to build features at, oldest first (an account holdout's
        validation cutoffs are also training cutoffs, listed once)."""
        return sorted({*self.train_cutoffs, *self.embargoed_cutoffs, *self.validation_cutoffs})

    def params(self) -> dict[str, int | float | bool | None]:
        """The layout as MLflow params: with an adapted layout, the definition's fields
        say what was asked for and these what was trained on."""
        return {
            "layout.step_days": self.step_days,
            "layout.min_history_days": self.min_history_days,
            "layout.train_cutoffs": len(self.train_cutoffs),
            "layout.embargoed_cutoffs": len(self.embargoed_cutoffs),
            "layout.validation_cutoffs": len(self.validation_cutoffs),
            "layout.adapted": self.adapted,
            "layout.account_holdout": self.account_holdout,
            "layout.holdout_fraction": self.holdout_fraction,
        }

    def describe(self) -> str:
        """One line for ``kam-ml train``: what the models fit and validate on, and why."""
        every = f" every {self.step_days} days" if self.step_days else ""
        floor = (
            f", none earlier than {self.min_history_days} days after the first order"
            if self.min_history_days is not None
            else ""
        )
        why = (
            " (adapted to the history: the definition's own layout left fewer than "
            f"{MIN_TRAINING_CUTOFFS} training cutoffs)"
            if self.adapted
            else ""
        )
        first, last = self.cutoffs[0].date(), self.cutoffs[-1].date()
        if self.holdout_fraction is not None:
            return (
                f"Cutoff layout: {_count(len(self.cutoffs), 'cutoff')}{every} from {first} to "
                f"{last}, all training; {self.holdout_fraction:.0%} of accounts held out and "
                f"validated at the newest{floor} (account holdout: the history is too short "
                "for an out-of-time validation; the held-out accounts are scored on the same "
                "cutoffs, so the metrics do not test drift)."
            )
        return (
            f"Cutoff layout: {_count(len(self.cutoffs), 'cutoff')}{every} from {first} to "
            f"{last}: {len(self.train_cutoffs)} train, {len(self.embargoed_cutoffs)} "
            f"embargoed, {len(self.validation_cutoffs)} validate{floor}{why}."
        )


@dataclass(frozen=True)
class ProblemDefinition:
    """What churn means and how training cutoffs are laid out; every field is logged.

    horizon_days: churned at T = active at T and no order in (T, T + horizon_days].
    active_window_days: active at T = at least one order in the last window days up to T.
    return_lag_days: a return without return_date is known this many days after its order.
    training_cutoffs: how many cutoffs are stacked (validation and embargoed ones included).
    validation_cutoffs: the latest cutoffs, held out for validation (never a random split).
    cutoff_step_days: spacing between consecutive cutoffs (30 ~ monthly).
    min_history_days: no cutoff earlier than this many days after the first order. Earlier
        cutoffs would see every account as new -- the start of the data, not of the account,
        cutting its history -- which never happens at scoring time. Less than one active
        window still truncates the yearly features: a trade-off, kept at 90 because every
        model so far was trained on that layout.

    The four layout fields are a preference, not a demand: a history they cannot train on
    gets the first layout of ``layout_ladder`` that does (finer steps, then fewer validation
    cutoffs, then a 30-day history floor; more cutoffs when needed), see ``training_layout``.
    The horizon and the active window are never adapted: they are what the model means.
    """

    horizon_days: int = 90
    active_window_days: int = 365
    return_lag_days: int = 30
    training_cutoffs: int = 12
    validation_cutoffs: int = 2
    cutoff_step_days: int = 30
    min_history_days: int = 90

    def __post_init__(self) -> None:
        for name in (
            "horizon_days",
            "active_window_days",
            "training_cutoffs",
            "validation_cutoffs",
            "cutoff_step_days",
        ):
            require_positive_int("ProblemDefinition", name, getattr(self, name))
        for name in ("return_lag_days", "min_history_days"):
            require_non_negative_int("ProblemDefinition", name, getattr(self, name))
        if self.validation_cutoffs >= self.training_cutoffs:
            raise DefinitionError(
                "The 'validation_cutoffs' of ProblemDefinition must be smaller than "
                f"'training_cutoffs' ({self.training_cutoffs}). Got {self.validation_cutoffs} "
                "instead."
            )

    # -- serialisation ---------------------------------------------------------------
    def to_dict(self) -> dict[str, int]:
        return asdict(self)

    @classmethod
    def from_dict(cls, values: dict[str, Any]) -> ProblemDefinition:
        """The definition a bundle or run logged; fields it predates take their defaults
        (bundles saved before ``min_history_days`` existed used today's default of 90)."""
        known = {k: int(v) for k, v in values.items() if k in cls.__dataclass_fields__}
        return cls(**known)

    def with_horizon(self, horizon_days: int | None) -> ProblemDefinition:
        return self if horizon_days is None else replace(self, horizon_days=horizon_days)

    # -- the cutoff rule -------------------------------------------------------------
    @staticmethod
    def history_end(cutoff: pd.Timestamp) -> pd.Timestamp:
        """First instant *not* known at cutoff T: everything strictly before T + 1 day is."""
        return pd.Timestamp(cutoff).normalize() + _DAY

    def return_known_date(self, orders: pd.DataFrame) -> pd.Series:
        """When each line's return became known (NaT for lines never returned)."""
        returned = orders["returned"].to_numpy(dtype=bool)
        known = np.full(len(orders), np.datetime64("NaT"), dtype="datetime64[ns]")
        known[returned] = self._return_known(orders, returned)
        return pd.Series(known, index=orders.index)

    def history_at(self, tables: Tables, cutoff: pd.Timestamp) -> Tables:
        """The tables as they were known at the end of day ``cutoff``.

        Orders and interactions dated after T are dropped; a return not yet known at T is
        shown as not returned (late-arriving fact), and its return_date is hidden. Frames
        with nothing to drop or hide are passed on as they are, not copied.
        """
        end = _datetime64(self.history_end(cutoff))
        orders = _rows_before(tables.orders, "order_date", end)
        returned = orders["returned"].to_numpy(dtype=bool)
        return_date = orders["return_date"].to_numpy(dtype="datetime64[ns]")
        known = returned.copy()
        known[returned] = self._return_known(orders, returned) < end
        if (~known & (returned | ~np.isnat(return_date))).any():
            orders = orders.assign(
                returned=known, return_date=np.where(known, return_date, np.datetime64("NaT"))
            )
        interactions = _rows_before(tables.interactions, "event_date", end)
        accounts = tables.accounts  # signup dates after T simply give negative tenure
        return Tables(
            accounts, orders, interactions, tables.categories, tables.order_history_start()
        )

    def age_days(self, dates: pd.Series | np.ndarray, cutoff: pd.Timestamp) -> np.ndarray:
        """Age in (fractional) days of each date at the end of day T; > 0 for known rows."""
        end = _datetime64(self.history_end(cutoff))
        age: np.ndarray = end - _as_datetime64(dates)
        return age / np.timedelta64(1, "D")

    def _return_known(self, orders: pd.DataFrame, rows: np.ndarray) -> np.ndarray:
        """When the return of each selected line became known; ``rows`` are returned lines
        (a few percent of all), so 20M-line books skip the date arithmetic for the rest."""
        return_date = _as_datetime64(orders["return_date"])[rows]
        lagged = _as_datetime64(orders["order_date"])[rows] + np.timedelta64(
            self.return_lag_days, "D"
        )
        return np.where(np.isnat(return_date), lagged, return_date)

    def label_window_orders(self, tables: Tables, cutoff: pd.Timestamp) -> pd.DataFrame:
        """Orders in (T, T + horizon]; only ``kam_ml.problem.labels`` may look here."""
        return self.window_orders(tables, cutoff, self.horizon_days)

    def window_orders(self, tables: Tables, cutoff: pd.Timestamp, days: int) -> pd.DataFrame:
        """Orders in (T, T + days], for targets with their own window (12-month revenue).

        Only ``kam_ml.problem.labels`` may look here; ``days`` follows the horizon's rule.
        """
        require_positive_int("ProblemDefinition", "days", days)
        start = self.history_end(cutoff)
        stop = start + pd.Timedelta(days=days)
        dates = tables.orders["order_date"]
        return tables.orders.loc[((dates >= start) & (dates < stop)).to_numpy()]

    def label_window_end(self, cutoff: pd.Timestamp) -> pd.Timestamp:
        """Last calendar day inside the label window of T."""
        return pd.Timestamp(cutoff).normalize() + pd.Timedelta(days=self.horizon_days)

    # -- cutoff layout ---------------------------------------------------------------
    def training_layout(self, as_of: pd.Timestamp, first_date: pd.Timestamp) -> CutoffLayout:
        """Training, embargoed and validation cutoffs for a run as of ``as_of``.

        The definition's own layout (``training_cutoffs`` every ``cutoff_step_days``, the
        ``validation_cutoffs`` newest held out, none earlier than ``min_history_days`` after
        ``first_date``) is a *preference*: it is used exactly as it is whenever it leaves
        ``MIN_TRAINING_CUTOFFS`` training cutoffs after the embargo, so long histories keep
        the cutoffs every model so far was trained on. Only when it does not -- a short
        history, a long horizon, too few cutoffs for the embargo -- is the first layout of
        ``layout_ladder`` that trains chosen instead (``CutoffLayout.adapted``). Every layout
        on the ladder is honest: label windows end by ``as_of``, no training label window
        reaches the first validation cutoff, at least one cutoff validates.

        When no rung fits (``out_of_time_history_days``) but ``MIN_TRAINING_CUTOFFS``
        cutoffs still have their label windows observed, an *account holdout* is used
        instead (``_account_holdout``): honest about rows, not about time.

        Raises NotEnoughHistoryError, naming the span, the horizon and the remedy, when not
        even that fits (``minimum_history_days``).
        """
        as_of = pd.Timestamp(as_of).normalize()
        first_date = pd.Timestamp(first_date).normalize()
        for rung in self.layout_ladder():
            layout = rung._laid_out(as_of, first_date)
            if len(layout.train_cutoffs) >= MIN_TRAINING_CUTOFFS:
                return layout if rung == self else replace(layout, adapted=True)
        holdout = self._account_holdout(as_of, first_date)
        if holdout is not None:
            return holdout
        raise NotEnoughHistoryError(self._not_enough_history(as_of, first_date))

    def _account_holdout(
        self, as_of: pd.Timestamp, first_date: pd.Timestamp
    ) -> CutoffLayout | None:
        """Every labelled cutoff of the first ladder rung with ``MIN_TRAINING_CUTOFFS`` of
        them, all training, the newest also validating (on held-out accounts only)."""
        for rung in self.layout_ladder():
            cutoffs = sorted(rung._candidate_cutoffs(as_of, first_date))
            if len(cutoffs) >= MIN_TRAINING_CUTOFFS:
                return CutoffLayout(
                    tuple(cutoffs),
                    (),
                    (cutoffs[-1],),
                    rung.cutoff_step_days,
                    rung.min_history_days,
                    adapted=True,
                    holdout_fraction=ACCOUNT_HOLDOUT_FRACTION,
                )
        return None

    def training_cutoff_dates(
        self, as_of: pd.Timestamp, first_date: pd.Timestamp
    ) -> list[pd.Timestamp]:
        """Every cutoff of ``training_layout``, oldest first (what features are built at)."""
        return self.training_layout(as_of, first_date).cutoffs

    def layout_ladder(self) -> list[ProblemDefinition]:
        """The layouts ``training_layout`` tries, in order; the first is this definition.

        Then, giving up the least first: finer steps (monthly, fortnightly, weekly) at the
        requested validation count and history floor, which only add correlated rows; then
        fewer validation cutoffs, down to 1, which makes the gate noisier; last the history
        floor falls to ``ADAPTED_MIN_HISTORY_DAYS``, which lets cutoffs see less of each
        account's past. On each adapted rung the stack reaches as far back as the requested
        one would (``training_cutoffs`` x ``cutoff_step_days``), and at least far enough for
        the embargo and ``MIN_TRAINING_CUTOFFS`` training cutoffs.
        """
        steps = [self.cutoff_step_days] + [
            s for s in ADAPTIVE_STEPS_DAYS if s < self.cutoff_step_days
        ]
        floors = [self.min_history_days] + [
            m for m in (ADAPTED_MIN_HISTORY_DAYS,) if m < self.min_history_days
        ]
        ladder = [self]
        for floor in floors:
            for validation in range(self.validation_cutoffs, 0, -1):
                for step in steps:
                    span = (self.training_cutoffs - 1) * self.cutoff_step_days
                    needed = validation + self._embargo_steps(step) + MIN_TRAINING_CUTOFFS
                    rung = replace(
                        self,
                        cutoff_step_days=step,
                        validation_cutoffs=validation,
                        min_history_days=floor,
                        training_cutoffs=max(math.ceil(span / step) + 1, needed),
                    )
                    if rung not in ladder:
                        ladder.append(rung)
        return ladder

    def minimum_history_days(self) -> int:
        """Fewest days from the first order to the as-of date with which any layout trains:
        an account holdout's ``MIN_TRAINING_CUTOFFS`` labelled cutoffs, the oldest
        ``min_history_days`` after the first order. With the default definition, weekly
        cutoffs and a 30-day floor: ``30 + horizon_days + 7`` days.
        """
        needs = (
            rung.min_history_days
            + rung.horizon_days
            + (MIN_TRAINING_CUTOFFS - 1) * rung.cutoff_step_days
            for rung in self.layout_ladder()
        )
        return min(needs)

    def out_of_time_history_days(self) -> int:
        """Fewest days from the first order to the as-of date with which an out-of-time
        layout (training cutoffs before the validation ones) trains.

        A rung trains when its (validation + embargo + 2)-th newest cutoff, ``horizon_days``
        + that many steps before as-of, is still ``min_history_days`` after the first order.
        With the default definition this is the weekly rung with one validation cutoff and a
        30-day floor: ``30 + horizon_days + 7 * ceil(horizon_days / 7) + 7`` days.
        """
        needs = (rung._history_needed() for rung in self.layout_ladder())
        return min(need for need in needs if need is not None)  # adapted rungs stack enough

    def _embargo_steps(self, step: int) -> int:
        """Steps from the first validation cutoff back to the newest that may train: its
        label window (``horizon_days``) must end by the first validation cutoff."""
        return math.ceil(self.horizon_days / step) - 1

    def _history_needed(self) -> int | None:
        """Days of history this exact layout needs to train, None if its stack is too short."""
        oldest = self.validation_cutoffs + self._embargo_steps(self.cutoff_step_days)
        oldest += MIN_TRAINING_CUTOFFS - 1  # index of the MIN_TRAINING_CUTOFFS-th trainer
        if oldest >= self.training_cutoffs:
            return None
        return self.min_history_days + self.horizon_days + oldest * self.cutoff_step_days

    def _laid_out(self, as_of: pd.Timestamp, first_date: pd.Timestamp) -> CutoffLayout:
        """This definition's own layout, without any sufficiency check or adaptation."""
        return self.split_cutoffs(self._candidate_cutoffs(as_of, first_date))

    def split_cutoffs(self, cutoffs: Iterable[pd.Timestamp]) -> CutoffLayout:
        """The ``validation_cutoffs`` newest cutoffs validate; an older one trains only if
        its label window ends by the first validation cutoff, else it is embargoed.

        The embargo is what keeps validation honest: no order in the validation period
        shapes a training label. No sufficiency check here: ``training_layout`` makes it.
        """
        ordered = sorted({pd.Timestamp(c) for c in cutoffs})
        split = max(len(ordered) - self.validation_cutoffs, 0)
        older, validation = ordered[:split], ordered[split:]
        if not validation:
            return CutoffLayout((), (), (), self.cutoff_step_days, self.min_history_days)
        first_validation = validation[0]
        train = [c for c in older if self.label_window_end(c) <= first_validation]
        embargoed = [c for c in older if self.label_window_end(c) > first_validation]
        return CutoffLayout(
            tuple(train),
            tuple(embargoed),
            tuple(validation),
            self.cutoff_step_days,
            self.min_history_days,
        )

    def _candidate_cutoffs(
        self, as_of: pd.Timestamp, first_date: pd.Timestamp
    ) -> list[pd.Timestamp]:
        """Cutoffs stepping back from the newest whose window ends by ``as_of``, newest
        first; those earlier than ``min_history_days`` after ``first_date`` are dropped."""
        latest = as_of - pd.Timedelta(days=self.horizon_days)
        steps = [
            latest - pd.Timedelta(days=self.cutoff_step_days * i)
            for i in range(self.training_cutoffs)
        ]
        earliest_allowed = first_date + pd.Timedelta(days=self.min_history_days)
        return [c for c in steps if c >= earliest_allowed]

    def _trains(self, as_of: pd.Timestamp, first_date: pd.Timestamp) -> bool:
        return (as_of - first_date).days >= self.minimum_history_days()

    def _not_enough_history(self, as_of: pd.Timestamp, first_date: pd.Timestamp) -> str:
        """What the history holds, what the finest layout needs, and every remedy."""
        days = (as_of - first_date).days
        history = (
            f"the history runs from {first_date.date()} to the as-of date {as_of.date()}, "
            f"{_count(days, 'day')} (about {days / _DAYS_PER_MONTH:.1f} months)"
        )
        needed = self.minimum_history_days()
        finest = min(self.cutoff_step_days, *ADAPTIVE_STEPS_DAYS)
        floor = min(self.min_history_days, ADAPTED_MIN_HISTORY_DAYS)
        return (
            f"Not enough history to train: {history}. With a {self.horizon_days}-day horizon "
            f"no honest cutoff layout fits: training needs {_count(needed, 'day')}, enough "
            f"for {MIN_TRAINING_CUTOFFS} cutoffs whose label windows end by the as-of date, "
            "validated on held-out accounts (with cutoffs every "
            f"{finest} days, the first {floor} days after the first order; an out-of-time "
            f"validation needs {_count(self.out_of_time_history_days(), 'day')}). "
            f"{self._remedies(as_of, first_date)}"
        )

    def _remedies(self, as_of: pd.Timestamp, first_date: pd.Timestamp) -> str:
        """Each change that alone would let a layout train, as one sentence."""
        remedies = []
        shorter = self._longest_horizon_that_trains(as_of, first_date)
        if shorter is not None:
            remedies.append(f"shorten the horizon to at most {shorter} days")
        first_needed = as_of - pd.Timedelta(days=self.minimum_history_days())
        months = math.ceil((first_date - first_needed).days / _DAYS_PER_MONTH)
        remedies.append(
            f"add about {_count(months, 'more month')} of history "
            f"(orders from {first_needed.date()} on)"
        )
        return f"To train, {_or_list(remedies)}."

    def _longest_horizon_that_trains(
        self, as_of: pd.Timestamp, first_date: pd.Timestamp
    ) -> int | None:
        """Binary search below ``horizon_days``: a shorter horizon moves every cutoff later
        and shortens the embargo, so once a horizon trains, every shorter one does too."""
        low, high = 0, self.horizon_days  # low trains (0: none found yet), high does not
        while high - low > 1:
            middle = (low + high) // 2
            if replace(self, horizon_days=middle)._trains(as_of, first_date):
                low = middle
            else:
                high = middle
        return low if low > 0 else None


def _count(count: int, noun: str) -> str:
    return f"{count} {noun}{'' if count == 1 else 's'}"


def _agree(count: int, singular: str, plural: str) -> str:
    return singular if count == 1 else plural


def _or_list(items: list[str]) -> str:
    """Remedies as one phrase: "a", "a or b", "a, b or c"."""
    return items[0] if len(items) == 1 else f"{', '.join(items[:-1])} or {items[-1]}"


def _datetime64(when: pd.Timestamp) -> np.datetime64:
    return pd.Timestamp(when).as_unit("ns").to_datetime64()


def _as_datetime64(dates: pd.Series | np.ndarray) -> np.ndarray:
    """Nanosecond datetimes as a NumPy array: 20M-row arithmetic without pandas overhead."""
    if isinstance(dates, pd.Series):
        return dates.to_numpy(dtype="datetime64[ns]")
    return np.asarray(dates, dtype="datetime64[ns]")


def _rows_before(frame: pd.DataFrame, date_column: str, end: np.datetime64) -> pd.DataFrame:
    keep = _as_datetime64(frame[date_column]) < end
    return frame if keep.all() else frame.loc[keep]
