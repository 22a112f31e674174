"""Backtest split over stacked cutoffs: the latest cutoffs validate, never a random split.

Which cutoff is on which side is ``ProblemDefinition``'s rule (``training_layout``,
``split_cutoffs``); this module only turns a layout into row masks over a stacked frame.
An account-holdout layout (histories too short for an out-of-time one) puts the same
cutoffs on both sides, so the sides differ by account: code must use the row masks, not
the cutoff sets, to tell them apart.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass

import numpy as np
import pandas as pd

from kam_ml.problem.definition import CutoffLayout, ProblemDefinition

__all__ = ["TimeSplit", "held_out_accounts", "split_by_cutoff", "split_by_layout"]


@dataclass(frozen=True)
class TimeSplit:
    """Row masks into a stacked feature frame, and the cutoffs each side holds.

    With an account holdout (``layout.account_holdout``) the validation cutoffs are also
    training cutoffs; the masks are disjoint by account.
    """

    train: np.ndarray
    validation: np.ndarray
    train_cutoffs: tuple[pd.Timestamp, ...]
    validation_cutoffs: tuple[pd.Timestamp, ...]
    layout: CutoffLayout | None = None  # the layout split on, logged with the run


def split_by_layout(frame: pd.DataFrame, layout: CutoffLayout) -> TimeSplit:
    """Masks for the rows of ``frame`` at the layout's training and validation cutoffs.

    Rows at embargoed cutoffs are on neither side. Training passes the layout it checked
    (``ProblemDefinition.training_layout``), so the split is the one the check counted.
    With an account holdout, held-out accounts (``held_out_accounts``) never train and
    only they validate.
    """
    values = frame["cutoff"].to_numpy()
    train = np.isin(values, np.array(layout.train_cutoffs, dtype="datetime64[ns]"))
    validation = np.isin(values, np.array(layout.validation_cutoffs, dtype="datetime64[ns]"))
    if layout.holdout_fraction is not None:
        held_out = held_out_accounts(frame["account_id"], layout.holdout_fraction)
        train &= ~held_out
        validation &= held_out
    return TimeSplit(
        train=train,
        validation=validation,
        train_cutoffs=layout.train_cutoffs,
        validation_cutoffs=layout.validation_cutoffs,
        layout=layout,
    )


def split_by_cutoff(frame: pd.DataFrame, definition: ProblemDefinition) -> TimeSplit:
    """Hold out the ``definition.validation_cutoffs`` latest cutoffs the frame holds.

    The training side also excludes cutoffs whose label window overlaps the first
    validation cutoff's future, so no validation-period order shapes a training label.
    """
    return split_by_layout(frame, definition.split_cutoffs(frame["cutoff"].unique()))


def held_out_accounts(account_ids: pd.Series, fraction: float) -> np.ndarray:
    """Whether each row's account is held out: about ``fraction`` of the accounts.

    A stable hash (BLAKE2b of the id's text, not Python's per-process salted ``hash``), so
    an account is on the same side in every run, on every cutoff and for every model.
    """
    if not 0 < fraction < 1:
        raise ValueError(f"The holdout 'fraction' must lie in (0, 1). Got {fraction} instead.")
    codes, accounts = pd.factorize(account_ids.astype(str))
    buckets = np.array(
        [
            int.from_bytes(hashlib.blake2b(a.encode(), digest_size=8).digest(), "big") % 10_000
            for a in accounts
        ],
        dtype=np.int64,
    )
    held_out: np.ndarray = buckets[codes] < round(fraction * 10_000)
    return held_out
