"""The validated input tables, as one typed object that flows through the package.

Invariants (established by ``kam_ml.validation`` and by ``kam_ml.demo_data``; every other
module relies on them and never re-checks):

accounts      account_id (str, unique), signup_date (datetime64[ns]), manager (str, never
              empty: missing -> "unassigned"), region (str), segment (str; "unknown" when the
              optional column is absent or empty).
orders        order_id (str), account_id (Categorical whose categories are exactly
              ``accounts.account_id`` in the same order), order_date (datetime64[ns]),
              category (str), quantity (int64), amount (float64), returned (bool),
              return_date (datetime64[ns], NaT when unknown). product_id kept if present.
interactions  account_id (Categorical as in orders), event_date (datetime64[ns]),
              event_type (str), value (float64, NaN when missing). Empty frame with these
              columns when the optional table is absent.
categories    category (str, unique), margin_rate (float64 in [0, 1]). When the optional
              catalogue is absent: every ordered category with margin_rate 1.0.

The categorical account_id lets every feature aggregate with integer codes (``np.bincount``)
instead of hashing strings, which is what keeps 20M order lines fast.
"""

from __future__ import annotations

from dataclasses import dataclass, replace

import numpy as np
import pandas as pd

__all__ = ["Tables", "account_codes", "sorted_for_features"]


@dataclass(frozen=True)
class Tables:
    """The four contract tables after validation."""

    accounts: pd.DataFrame
    orders: pd.DataFrame
    interactions: pd.DataFrame
    categories: pd.DataFrame

    @property
    def n_accounts(self) -> int:
        return len(self.accounts)

    def with_orders(self, orders: pd.DataFrame) -> Tables:
        return replace(self, orders=orders)

    def last_date(self) -> pd.Timestamp:
        """The last calendar day with any recorded fact; the default as-of date."""
        candidates = [self.orders["order_date"].max()]
        if len(self.interactions):
            candidates.append(self.interactions["event_date"].max())
        return pd.Timestamp(max(c for c in candidates if pd.notna(c))).normalize()

    def first_date(self) -> pd.Timestamp:
        return pd.Timestamp(self.orders["order_date"].min()).normalize()


def account_codes(frame: pd.DataFrame) -> np.ndarray:
    """Integer position of each row's account in ``Tables.accounts`` (see module invariants)."""
    return frame["account_id"].cat.codes.to_numpy()


def sorted_for_features(tables: Tables) -> Tables:
    """Sort orders and interactions by (account, date) unless they already are.

    Features find each account's first/last order and its gaps from contiguous, date-ordered
    segments, so they need this order; checking it costs one pass, sorting only when needed.
    """
    return Tables(
        tables.accounts,
        _sorted_by_account(tables.orders, "order_date"),
        _sorted_by_account(tables.interactions, "event_date"),
        tables.categories,
    )


def _sorted_by_account(frame: pd.DataFrame, date_column: str) -> pd.DataFrame:
    if len(frame) < 2:
        return frame
    codes = account_codes(frame).astype(np.int64)
    dates = frame[date_column].to_numpy(dtype="datetime64[ns]").view(np.int64)
    code_step = np.diff(codes)
    in_order = (code_step > 0) | ((code_step == 0) & (np.diff(dates) >= 0))
    if in_order.all():
        return frame
    order = np.lexsort((dates, codes))
    return frame.iloc[order].reset_index(drop=True)
