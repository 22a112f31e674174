"""The problem definition, and the ONE place that cuts history at a cutoff.

No other module compares a date with a cutoff: features ask for the history known at T
(``history_at``) and for row ages (``age_days``); labels ask for the label window
(``label_window_orders``). Keeping the rule here is what makes point-in-time correctness
testable in one place.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, replace
from typing import Any

import numpy as np
import pandas as pd

from kam_ml.data.tables import Tables
from kam_ml.errors import DefinitionError, NotEnoughHistoryError, require_positive_int

__all__ = ["ProblemDefinition"]

_DAY = pd.Timedelta(days=1)


@dataclass(frozen=True)
class ProblemDefinition:
    """What churn means and how training cutoffs are laid out; every field is logged.

    horizon_days: churned at T = active at T and no order in (T, T + horizon_days].
    active_window_days: active at T = at least one order in the last window days up to T.
    return_lag_days: a return without return_date is known this many days after its order.
    training_cutoffs: how many cutoffs are stacked for training (validation ones included).
    validation_cutoffs: the latest cutoffs, held out for validation (never a random split).
    cutoff_step_days: spacing between consecutive cutoffs (30 ~ monthly).
    """

    horizon_days: int = 90
    active_window_days: int = 365
    return_lag_days: int = 30
    training_cutoffs: int = 12
    validation_cutoffs: int = 2
    cutoff_step_days: int = 30

    def __post_init__(self) -> None:
        for name in (
            "horizon_days",
            "active_window_days",
            "training_cutoffs",
            "validation_cutoffs",
            "cutoff_step_days",
        ):
            require_positive_int("ProblemDefinition", name, getattr(self, name))
        value = self.return_lag_days
        if not isinstance(value, int | np.integer) or isinstance(value, bool) or value < 0:
            raise DefinitionError(
                f"The 'return_lag_days' of ProblemDefinition must be a non-negative int. "
                f"Got {value!r} instead."
            )
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
        return (end - _as_datetime64(dates)) / np.timedelta64(1, "D")

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
    def training_cutoff_dates(
        self, as_of: pd.Timestamp, first_date: pd.Timestamp
    ) -> list[pd.Timestamp]:
        """Stacked training cutoffs, oldest first, whose label windows end by ``as_of``.

        Cutoffs earlier than one active window after the first order are skipped: they
        would see truncated histories that never occur at scoring time.
        """
        as_of = pd.Timestamp(as_of).normalize()
        latest = as_of - pd.Timedelta(days=self.horizon_days)
        earliest_allowed = pd.Timestamp(first_date).normalize() + pd.Timedelta(days=90)
        cutoffs = [
            latest - pd.Timedelta(days=self.cutoff_step_days * i)
            for i in range(self.training_cutoffs)
        ]
        cutoffs = [c for c in cutoffs if c >= earliest_allowed]
        if len(cutoffs) <= self.validation_cutoffs:
            raise NotEnoughHistoryError(
                f"Training needs more than {self.validation_cutoffs} cutoffs whose "
                f"{self.horizon_days}-day label window ends by the as-of date {as_of.date()}, "
                f"but the history starting {pd.Timestamp(first_date).date()} allows only "
                f"{len(cutoffs)}. Use a later --as-of, a shorter --horizon-days or more history."
            )
        return sorted(cutoffs)


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
