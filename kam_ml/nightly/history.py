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

from kam_ml.scoring.explained import BANDS

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
    def from_frame(cls, frame: pd.DataFrame, bands: bool = True) -> ScoreHistory:
        """``bands=False`` leaves ``band`` empty (None), for readers of the probabilities."""
        nights = sorted(c.removeprefix(_P) for c in frame.columns if c.startswith(_P))
        n = len(frame)
        probability = np.full((n, len(nights)), np.nan)
        band = np.full((n, len(nights)), None, dtype=object)
        for k, night in enumerate(nights):
            probability[:, k] = frame[_P + night].to_numpy(dtype=float)
            if bands and _B + night in frame:
                labels = frame[_B + night].astype(object).to_numpy()
                band[:, k] = np.where(pd.isna(labels), None, labels)
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
        taken = np.where(known, position, 0)
        earlier = sorted(
            c.removeprefix(_P)
            for c in previous.columns
            if c.startswith(_P) and c.removeprefix(_P) < as_of
        )
        for night in earlier[-(nights - 1) :] if nights > 1 else []:
            p = previous[_P + night].to_numpy(dtype=np.float32)[taken]
            out[_P + night] = np.where(known, p, np.float32(np.nan))
            # bands move as category codes (-1: not scored), never as strings
            codes = _codes(previous[_B + night])[taken]
            out[_B + night] = _bands(np.where(known, codes, -1))
    out[_P + as_of] = np.asarray(probability, dtype=np.float32)
    out[_B + as_of] = _bands(_codes(pd.Series(np.asarray(band, dtype=object))))
    return pd.DataFrame(out)


def _codes(bands: pd.Series) -> np.ndarray:
    """Band labels as codes into ``BANDS`` (-1 for none), from a categorical or labels."""
    if isinstance(bands.dtype, pd.CategoricalDtype):
        mapping = pd.Index(BANDS).get_indexer(bands.cat.categories.astype(object))
        raw = bands.cat.codes.to_numpy()
        return np.where(raw >= 0, mapping[raw], -1)
    return pd.Index(BANDS).get_indexer(pd.Index(bands.astype(object)))


def _bands(codes: np.ndarray) -> pd.Categorical:
    return pd.Categorical.from_codes(codes, categories=list(BANDS))
