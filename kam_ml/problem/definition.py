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

__all__ = ["MIN_TRAINING_CUTOFFS", "CutoffLayout", "ProblemDefinition"]

_DAY = pd.Timedelta(days=1)
_DAYS_PER_MONTH = 365.25 / 12

MIN_TRAINING_CUTOFFS = 2
"""Fewest training cutoffs a model can learn from: the newest calibrates, the older ones fit."""


@dataclass(frozen=True)
class CutoffLayout:
    """The cutoffs of one training run, each on one side of the backtest, oldest first.

    Embargoed cutoffs lie between the two sides: their label windows reach past the first
    validation cutoff, so a validation-period order would shape their labels. They neither
    train nor validate, but they are still built (``cutoffs``), which keeps the feature
    frames -- and everything derived from them -- what they were before the layout existed.
    """

    train_cutoffs: tuple[pd.Timestamp, ...]
    embargoed_cutoffs: tuple[pd.Timestamp, ...]
    validation_cutoffs: tuple[pd.Timestamp, ...]

    @property
    def cutoffs(self) -> list[pd.Timestamp]:
        """Every cutoff to build features at, oldest first."""
        return sorted((*self.train_cutoffs, *self.embargoed_cutoffs, *self.validation_cutoffs))


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
        return Tables(accounts, orders, interactions, tables.categories)

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

        Candidates step back from the newest cutoff whose label window ends by ``as_of``;
        those earlier than ``min_history_days`` after ``first_date`` are dropped, and the
        rest are split by ``split_cutoffs``. The history check counts what is left *after*
        the embargo, because that is what the models fit on.

        Raises NotEnoughHistoryError when fewer than ``MIN_TRAINING_CUTOFFS`` remain.
        """
        as_of = pd.Timestamp(as_of).normalize()
        first_date = pd.Timestamp(first_date).normalize()
        layout = self.split_cutoffs(self._candidate_cutoffs(as_of, first_date))
        if len(layout.train_cutoffs) < MIN_TRAINING_CUTOFFS:
            raise NotEnoughHistoryError(self._not_enough_history(as_of, first_date, layout))
        return layout

    def training_cutoff_dates(
        self, as_of: pd.Timestamp, first_date: pd.Timestamp
    ) -> list[pd.Timestamp]:
        """Every cutoff of ``training_layout``, oldest first (what features are built at)."""
        return self.training_layout(as_of, first_date).cutoffs

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
            return CutoffLayout((), (), ())
        first_validation = validation[0]
        train = [c for c in older if self.label_window_end(c) <= first_validation]
        embargoed = [c for c in older if self.label_window_end(c) > first_validation]
        return CutoffLayout(tuple(train), tuple(embargoed), tuple(validation))

    def _candidate_cutoffs(
        self, as_of: pd.Timestamp, first_date: pd.Timestamp | None
    ) -> list[pd.Timestamp]:
        """Cutoffs stepping back from the newest whose window ends by ``as_of``, newest
        first; without ``first_date`` none is dropped for lack of history."""
        latest = as_of - pd.Timedelta(days=self.horizon_days)
        steps = [
            latest - pd.Timedelta(days=self.cutoff_step_days * i)
            for i in range(self.training_cutoffs)
        ]
        if first_date is None:
            return steps
        earliest_allowed = first_date + pd.Timedelta(days=self.min_history_days)
        return [c for c in steps if c >= earliest_allowed]

    def _trains(self, as_of: pd.Timestamp, first_date: pd.Timestamp) -> bool:
        layout = self.split_cutoffs(self._candidate_cutoffs(as_of, first_date))
        return len(layout.train_cutoffs) >= MIN_TRAINING_CUTOFFS

    def _not_enough_history(
        self, as_of: pd.Timestamp, first_date: pd.Timestamp, layout: CutoffLayout
    ) -> str:
        """What the history holds, how its cutoffs fell, and every remedy that would work."""
        days = (as_of - first_date).days
        train = len(layout.train_cutoffs)
        embargoed = len(layout.embargoed_cutoffs)
        validation = len(layout.validation_cutoffs)
        history = (
            f"the history runs from {first_date.date()} to the as-of date {as_of.date()}, "
            f"{_count(days, 'day')} (about {days / _DAYS_PER_MONTH:.1f} months)"
        )
        rule = (
            f"every {self.cutoff_step_days} days, at least {self.min_history_days} days after "
            "the first order, label window ended by the as-of date"
        )
        reach = (
            "is embargoed because its label window reaches"
            if embargoed == 1
            else "are embargoed because their label windows reach"
        )
        sides = (
            f"{validation} {_agree(validation, 'validates', 'validate')} "
            f"(validation_cutoffs={self.validation_cutoffs}), {embargoed} {reach} the "
            f"validation period, and {train} {_agree(train, 'is', 'are')} left to train"
        )
        return (
            f"Not enough history to train: {history}. With a {self.horizon_days}-day horizon, "
            f"{_count(len(layout.cutoffs), 'cutoff')} fit ({rule}): {sides}; training needs "
            f"at least {MIN_TRAINING_CUTOFFS}. {self._remedies(as_of, first_date)}"
        )

    def _remedies(self, as_of: pd.Timestamp, first_date: pd.Timestamp) -> str:
        """Each change that alone would leave enough training cutoffs, as one sentence."""
        remedies = []
        shorter = self._longest_horizon_that_trains(as_of, first_date)
        if shorter is not None:
            remedies.append(f"shorten the horizon to at most {shorter} days")
        if self.validation_cutoffs > 1 and replace(self, validation_cutoffs=1)._trains(
            as_of, first_date
        ):
            remedies.append(
                f"hold out 1 validation cutoff instead of {self.validation_cutoffs} "
                "(validation_cutoffs=1)"
            )
        needed = self._first_date_needed(as_of)
        if needed is None:
            remedies.append(
                f"stack more than {self.training_cutoffs} cutoffs (training_cutoffs): more "
                "history alone cannot help"
            )
        else:
            months = math.ceil((first_date - needed).days / _DAYS_PER_MONTH)
            remedies.append(
                f"add about {_count(months, 'more month')} of history "
                f"(orders from {needed.date()} on)"
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

    def _first_date_needed(self, as_of: pd.Timestamp) -> pd.Timestamp | None:
        """The latest first order date that leaves enough training cutoffs, if any does.

        Earlier history adds only older candidates, so the validation side stays put and
        the training side grows from the embargo backwards.
        """
        unlimited = self.split_cutoffs(self._candidate_cutoffs(as_of, None))
        if len(unlimited.train_cutoffs) < MIN_TRAINING_CUTOFFS:
            return None
        oldest_needed = unlimited.train_cutoffs[-MIN_TRAINING_CUTOFFS]
        return oldest_needed - pd.Timedelta(days=self.min_history_days)


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
