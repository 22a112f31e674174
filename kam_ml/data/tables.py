"""The validated input tables, as one typed object that flows through the package.

Invariants (established by ``kam_ml.data.validation`` and by ``kam_ml.demo.generate``; every other
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

import hashlib
from dataclasses import dataclass, replace

import numpy as np
import pandas as pd

__all__ = ["Tables", "account_codes", "data_fingerprint", "sorted_for_features"]


@dataclass(frozen=True)
class Tables:
    """The four contract tables after validation.

    ``history_start``: the first day of the book's order history, where it is not the first
    order in ``orders`` (None). One account's history posted to the API starts with its
    own first order, but it is part of a book whose history starts earlier; passing the
    book's start keeps "days since the first order" the book's (see ``order_history_start``).
    """

    accounts: pd.DataFrame
    orders: pd.DataFrame
    interactions: pd.DataFrame
    categories: pd.DataFrame
    history_start: pd.Timestamp | None = None

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

    def order_history_start(self) -> pd.Timestamp:
        """The day the order history begins: ``history_start``, else the first order's day.

        An account that signed up before it has an unknown first order: the history cannot
        show what it bought before.
        """
        if self.history_start is not None:
            return pd.Timestamp(self.history_start).normalize()
        return self.first_date()


def account_codes(frame: pd.DataFrame) -> np.ndarray:
    """Integer position of each row's account in ``Tables.accounts`` (see module invariants)."""
    return frame["account_id"].cat.codes.to_numpy()


def data_fingerprint(tables: Tables, as_of: pd.Timestamp) -> dict[str, str | int]:
    """What data a model saw: dates, sizes and a content hash, logged with every run.

    Shared by every model family, so two runs (or a run and a bundle) can be checked for
    having seen the same book without storing it.
    """
    digest = hashlib.sha256()
    for frame in (tables.accounts, tables.orders, tables.interactions, tables.categories):
        hashed = pd.util.hash_pandas_object(frame, index=False).to_numpy()
        digest.update(hashed.tobytes())
    return {
        "as_of": str(pd.Timestamp(as_of).date()),
        "first_order_date": str(tables.first_date().date()),
        "last_date": str(tables.last_date().date()),
        "accounts": tables.n_accounts,
        "order_lines": len(tables.orders),
        "interactions": len(tables.interactions),
        "sha256": digest.hexdigest(),
    }


def sorted_for_features(tables: Tables) -> Tables:
    """The columns features read, orders sorted by (account, date), strings as categoricals.

    Order features find each account's first/last order and its gaps from contiguous,
    date-ordered segments, so orders need this order; interactions are only counted and
    summed (or reduced order-free), so they keep theirs. Only the columns features read are
    kept (order and product ids are long strings no feature uses; at 20M lines moving them
    cost more than every feature together), and ``category`` and ``event_type`` become
    categoricals so that each cutoff compares small integer codes instead of strings.
    """
    orders = _encoded(tables.orders, _ORDER_COLUMNS, "category")
    interactions = _encoded(tables.interactions, _EVENT_COLUMNS, "event_type")
    return replace(tables, orders=_sorted_by_account(orders), interactions=interactions)


_ORDER_COLUMNS = ("account_id", "order_date", "category", "amount", "returned", "return_date")
_EVENT_COLUMNS = ("account_id", "event_date", "event_type", "value")
_DIGIT_BITS = 16  # NumPy's stable argsort is a linear-time radix sort up to 16-bit keys


def _encoded(frame: pd.DataFrame, columns: tuple[str, ...], label: str) -> pd.DataFrame:
    frame = frame[list(columns)]
    if isinstance(frame[label].dtype, pd.CategoricalDtype):
        return frame
    return frame.assign(**{label: frame[label].astype("category")})


def _sorted_by_account(orders: pd.DataFrame) -> pd.DataFrame:
    if len(orders) < 2:
        return orders
    codes = account_codes(orders)
    dates = orders["order_date"].to_numpy(dtype="datetime64[ns]").view(np.int64)
    if _in_account_date_order(codes, dates):
        return orders
    order = _account_date_order(codes, dates)
    taken = {name: _take(orders[name], order) for name in orders.columns if name != "account_id"}
    # Sorted codes are each account's code repeated by its row count: no gather needed.
    account_dtype = orders["account_id"].dtype
    counts = np.bincount(codes, minlength=len(account_dtype.categories))
    sorted_codes = np.repeat(np.arange(len(counts), dtype=codes.dtype), counts)
    taken["account_id"] = pd.Categorical.from_codes(sorted_codes, dtype=account_dtype)
    # Fresh arrays: the frame neither copies nor consolidates them.
    return pd.DataFrame(taken, copy=False)[list(orders.columns)]


def _in_account_date_order(codes: np.ndarray, dates: np.ndarray) -> bool:
    head = min(len(codes), 1 << 16)  # unsorted input almost always shows it early
    for stop in (head, len(codes)):
        code_step = np.diff(codes[:stop])
        rising = (code_step > 0) | ((code_step == 0) & (np.diff(dates[:stop]) >= 0))
        if not rising.all():
            return False
    return True


def _account_date_order(codes: np.ndarray, dates: np.ndarray) -> np.ndarray:
    """The permutation ``np.lexsort((dates, codes))`` returns, in a few linear passes.

    A stable date sort (skipped when rows already come in date order, as exports usually
    do) followed by a least-significant-digit radix sort of the account codes: NumPy's
    stable argsort of 8- or 16-bit keys is a radix sort. A comparison sort of 20M rows
    took several seconds.
    """
    order = None if (np.diff(dates) >= 0).all() else np.argsort(dates, kind="stable")
    codes = codes.astype(np.int64, copy=False)
    n_bits = max(int(codes.max()).bit_length(), 1)
    for shift in range(0, n_bits, 16):
        digit_type = np.uint8 if n_bits - shift <= 8 else np.uint16
        digit = ((codes >> shift) & 0xFFFF).astype(digit_type)
        if order is None:
            order = np.argsort(digit, kind="stable")
        else:
            order = order[np.argsort(digit[order], kind="stable")]
    assert order is not None  # n_bits >= 1, so the loop ran at least once
    return order


def _take(column: pd.Series, order: np.ndarray) -> np.ndarray | pd.Categorical:
    """Rows of ``column`` in ``order``; NumPy's take, without pandas' per-dtype dispatch."""
    if isinstance(column.dtype, pd.CategoricalDtype):
        codes = column.cat.codes.to_numpy().take(order)
        return pd.Categorical.from_codes(codes, dtype=column.dtype)
    return column.to_numpy().take(order)
