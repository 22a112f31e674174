"""Each account's score across published nights, carried forward one night at a time.

A night's ``history.parquet`` holds one row per account scored that night: ``account_id``
and, per night (oldest first, at most ``HISTORY_NIGHTS``), ``probability_<as-of>`` and
``band_<as-of>`` (null where the account was not scored that night). The nightly job
builds tonight's from the previous night's and tonight's scores, so no old night is read
again; a night written before histories existed starts one from its own scores. Only
tonight's accounts are carried: an account that drops off the list and comes back starts
again from that night.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

__all__ = ["HISTORY_NIGHTS", "ScoreHistory", "carry_history"]

HISTORY_NIGHTS = 12
_P, _B = "probability_", "band_"


@dataclass(frozen=True, eq=False)
class ScoreHistory:
    """A history frame read as arrays: the nights (as-of dates, oldest first) and, per
    account row, the probability (NaN: not scored) and band (None) on each night."""

    account_ids: np.ndarray
    nights: list[str]
    probability: np.ndarray
    band: np.ndarray

    @classmethod
    def from_frame(cls, frame: pd.DataFrame) -> ScoreHistory:
        nights = sorted(c.removeprefix(_P) for c in frame.columns if c.startswith(_P))
        n = len(frame)
        probability = np.full((n, len(nights)), np.nan)
        band = np.full((n, len(nights)), None, dtype=object)
        for k, night in enumerate(nights):
            probability[:, k] = frame[_P + night].to_numpy(dtype=float)
            bands = frame[_B + night].astype(object).to_numpy() if _B + night in frame else None
            if bands is not None:
                band[:, k] = np.where(pd.isna(bands), None, bands)
        return cls(frame["account_id"].astype(object).to_numpy(), nights, probability, band)

    def aligned(self, account_ids: np.ndarray | pd.Series) -> np.ndarray:
        """The probabilities of ``account_ids`` in that order (NaN rows for unknown ids)."""
        position = pd.Index(self.account_ids).get_indexer(pd.Index(account_ids))
        out = np.full((len(position), len(self.nights)), np.nan)
        out[position >= 0] = self.probability[position[position >= 0]]
        return out


def carry_history(
    previous: pd.DataFrame | None,
    as_of: str,
    account_ids: np.ndarray,
    probability: np.ndarray,
    band: np.ndarray,
    nights: int = HISTORY_NIGHTS,
) -> pd.DataFrame:
    """Tonight's history frame: the ``previous`` night's history (or None) for tonight's
    accounts, plus tonight, keeping the newest ``nights`` nights. A rerun of a night
    replaces that night's column rather than adding one."""
    out: dict[str, object] = {"account_id": np.asarray(account_ids, dtype=object)}
    if previous is not None and len(previous.columns) > 1:
        position = pd.Index(previous["account_id"]).get_indexer(pd.Index(account_ids))
        known = position >= 0
        earlier = sorted(
            c.removeprefix(_P)
            for c in previous.columns
            if c.startswith(_P) and c.removeprefix(_P) < as_of
        )[-(nights - 1) :] if nights > 1 else []  # fmt: skip
        for night in earlier:
            p = np.full(len(position), np.nan, dtype=np.float32)
            p[known] = previous[_P + night].to_numpy(dtype=np.float32)[position[known]]
            b = np.full(len(position), None, dtype=object)
            b[known] = previous[_B + night].astype(object).to_numpy()[position[known]]
            out[_P + night], out[_B + night] = p, b
    out[_P + as_of] = np.asarray(probability, dtype=np.float32)
    out[_B + as_of] = np.asarray(band, dtype=object)
    frame = pd.DataFrame(out)
    for column in frame.columns:
        if column.startswith(_B):
            frame[column] = frame[column].astype("category")
    return frame
