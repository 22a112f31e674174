"""Accounts split into buckets by a stable hash of their id, each bucket a book of its own.

Why buckets: everything kam-ml computes per account depends only on that account's rows
(and on book-level inputs computed once), so a book can be scored a bucket at a time — one
bucket in memory on a laptop, or many at once on a cluster — with the same answers. The
hash is CRC-32 of the id's UTF-8 bytes, not Python's ``hash`` (salted per process): the
same account lands in the same bucket in every run, on every machine and in every engine.
"""

from __future__ import annotations

import zlib
from collections.abc import Iterable
from dataclasses import replace

import numpy as np
import pandas as pd

from kam_ml.data.tables import Tables, account_codes

__all__ = ["account_buckets", "split_by_bucket"]


def account_buckets(account_ids: Iterable[object], n_buckets: int) -> np.ndarray:
    """The bucket (0 .. n_buckets - 1) of every id: CRC-32 of its UTF-8 text, mod n."""
    if n_buckets < 1:
        raise ValueError(f"n_buckets must be at least 1, got {n_buckets}")
    return np.fromiter(
        (zlib.crc32(str(account).encode()) % n_buckets for account in account_ids),
        dtype=np.int64,
    )


def split_by_bucket(tables: Tables, n_buckets: int) -> list[tuple[np.ndarray, Tables]]:
    """Each non-empty bucket's account positions in ``tables.accounts`` and its ``Tables``.

    Every bucket keeps the module invariants of ``kam_ml.data.tables`` (its orders' and
    events' account codes point into its own accounts), the whole catalogue, and the book's
    first day of history, so "days since the first order" stays the book's.
    """
    bucket_of = account_buckets(tables.accounts["account_id"], n_buckets)
    start = tables.order_history_start()
    order_codes, event_codes = account_codes(tables.orders), account_codes(tables.interactions)
    parts = []
    for bucket in range(n_buckets):
        positions = np.flatnonzero(bucket_of == bucket)
        if not len(positions):
            continue
        new_code = np.full(tables.n_accounts, -1, dtype=np.int64)
        new_code[positions] = np.arange(len(positions))
        accounts = tables.accounts.iloc[positions].reset_index(drop=True)
        ids = accounts["account_id"]
        part = replace(
            tables,
            accounts=accounts,
            orders=_rows_of(tables.orders, order_codes, new_code, ids),
            interactions=_rows_of(tables.interactions, event_codes, new_code, ids),
            history_start=start,
        )
        parts.append((positions, part))
    return parts


def _rows_of(
    frame: pd.DataFrame, codes: np.ndarray, new_code: np.ndarray, ids: pd.Series
) -> pd.DataFrame:
    """The rows of ``frame`` whose account is in the bucket, re-coded to its accounts."""
    recoded = new_code[codes] if len(codes) else codes.astype(np.int64)
    keep = recoded >= 0
    rows = frame.loc[keep].reset_index(drop=True)
    rows["account_id"] = pd.Categorical.from_codes(
        recoded[keep], categories=pd.Index(ids).rename(None)
    )
    return rows
