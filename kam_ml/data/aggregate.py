"""Per-account reductions over rows keyed by integer account codes.

Integer codes plus ``np.bincount`` aggregate 20M rows in tens of milliseconds; hashing the
account ids in a groupby would cost seconds per cutoff. ``first_value`` and ``last_value``
need rows sorted by (account code, date); ``minimum`` and ``newest_value`` need no order.

Sums are rounded to ``SUM_SIGNIFICANT_DIGITS`` significant digits (``keyed_sum``), so that
they do not depend on row order: floating-point addition is not associative, and the same
lines in another order (an account's history posted to the API, its rows in the book, a
re-export) summed to values one or two ulps apart, enough to move a value across a split
of the model or change a printed reason.
"""

from __future__ import annotations

import numpy as np

__all__ = [
    "count",
    "first_of_account",
    "first_value",
    "keyed_sum",
    "last_value",
    "minimum",
    "order_free",
    "newest_value",
    "total",
]


# Twelve digits keep every cent of sums below 10^10 exact, while the order-dependent error of
# a float64 sum (about n x 1e-16 relative for n rows) stays far below the last kept digit.
SUM_SIGNIFICANT_DIGITS = 12


def keyed_sum(keys: np.ndarray, weights: np.ndarray, minlength: int = 0) -> np.ndarray:
    """``np.bincount(keys, weights)``, independent of the order of the rows (see above)."""
    return order_free(np.bincount(keys, weights=weights, minlength=minlength))


def order_free(sums: np.ndarray) -> np.ndarray:
    """``sums`` rounded to ``SUM_SIGNIFICANT_DIGITS`` significant digits (NaN stays NaN).

    For any sum whose terms may come in another order or another association (NumPy sums
    a row of 10 columns in other pairs than a row of 4), so equal inputs give equal values.
    """
    with np.errstate(divide="ignore", invalid="ignore"):
        magnitude = np.floor(np.log10(np.abs(sums)))
    magnitude = np.where(np.isfinite(magnitude), magnitude, 0.0)
    scale = 10.0 ** (SUM_SIGNIFICANT_DIGITS - 1 - magnitude)
    return np.round(sums * scale) / scale


def total(codes: np.ndarray, values: np.ndarray, n_accounts: int) -> np.ndarray:
    """Sum of ``values`` per account (0.0 where an account has no rows), order-independent."""
    return keyed_sum(codes, values, n_accounts)


def count(codes: np.ndarray, n_accounts: int, mask: np.ndarray | None = None) -> np.ndarray:
    """Number of rows per account, optionally only rows where ``mask`` holds."""
    selected = codes if mask is None else codes[mask]
    return np.bincount(selected, minlength=n_accounts).astype(np.float64)


def last_value(codes: np.ndarray, values: np.ndarray, n_accounts: int) -> np.ndarray:
    """Value of each account's last row in sort order (NaN where it has none)."""
    out = np.full(n_accounts, np.nan)
    is_last = np.ones(len(codes), dtype=bool)
    is_last[:-1] = codes[1:] != codes[:-1]
    out[codes[is_last]] = values[is_last]
    return out


def first_value(codes: np.ndarray, values: np.ndarray, n_accounts: int) -> np.ndarray:
    """Value of each account's first row in sort order (NaN where it has none)."""
    out = np.full(n_accounts, np.nan)
    is_first = first_of_account(codes)
    out[codes[is_first]] = values[is_first]
    return out


def first_of_account(codes: np.ndarray) -> np.ndarray:
    """Mask of the rows that start an account's segment of rows sorted by account."""
    is_first = np.ones(len(codes), dtype=bool)
    is_first[1:] = codes[1:] != codes[:-1]
    return is_first


def minimum(codes: np.ndarray, values: np.ndarray, n_accounts: int) -> np.ndarray:
    """Smallest value per account (NaN where it has no rows); rows may come in any order."""
    out = np.full(n_accounts, np.inf)
    np.minimum.at(out, codes, values)
    out[np.bincount(codes, minlength=n_accounts) == 0] = np.nan
    return out


def newest_value(
    codes: np.ndarray, age: np.ndarray, values: np.ndarray, n_accounts: int
) -> np.ndarray:
    """Value of each account's youngest row (NaN where it has none); rows in any order.

    Among rows of equal age the later row wins, as ``last_value`` picks on rows stably
    sorted by (account, date): the order-free twin for tables that are not sorted.
    """
    youngest = minimum(codes, age, n_accounts)
    candidates = np.flatnonzero(age == youngest[codes])
    position = np.full(n_accounts, -1, dtype=np.intp)
    np.maximum.at(position, codes[candidates], candidates)
    out = np.full(n_accounts, np.nan)
    found = position >= 0
    out[found] = values[position[found]]
    return out
