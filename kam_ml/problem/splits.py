"""Backtest split over stacked cutoffs: the latest cutoffs validate, never a random split."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

from kam_ml.problem.definition import ProblemDefinition

__all__ = ["TimeSplit", "split_by_cutoff"]


@dataclass(frozen=True)
class TimeSplit:
    """Row masks into a stacked feature frame, and the cutoffs each side holds."""

    train: np.ndarray
    validation: np.ndarray
    train_cutoffs: tuple[pd.Timestamp, ...]
    validation_cutoffs: tuple[pd.Timestamp, ...]


def split_by_cutoff(frame: pd.DataFrame, definition: ProblemDefinition) -> TimeSplit:
    """Hold out the ``definition.validation_cutoffs`` latest cutoffs.

    The training side also excludes cutoffs whose label window overlaps the first
    validation cutoff's future, so no validation-period order shapes a training label.
    """
    cutoffs = sorted(pd.Timestamp(c) for c in frame["cutoff"].unique())
    validation = cutoffs[-definition.validation_cutoffs :]
    first_validation = validation[0]
    train = [c for c in cutoffs if definition.label_window_end(c) <= first_validation]
    values = frame["cutoff"].to_numpy()
    return TimeSplit(
        train=np.isin(values, np.array(train, dtype="datetime64[ns]")),
        validation=np.isin(values, np.array(validation, dtype="datetime64[ns]")),
        train_cutoffs=tuple(train),
        validation_cutoffs=tuple(validation),
    )
