"""Backtest split over stacked cutoffs: the latest cutoffs validate, never a random split.

Which cutoff is on which side is ``ProblemDefinition``'s rule (``training_layout``,
``split_cutoffs``); this module only turns a layout into row masks over a stacked frame.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

from kam_ml.problem.definition import CutoffLayout, ProblemDefinition

__all__ = ["TimeSplit", "split_by_cutoff", "split_by_layout"]


@dataclass(frozen=True)
class TimeSplit:
    """Row masks into a stacked feature frame, and the cutoffs each side holds."""

    train: np.ndarray
    validation: np.ndarray
    train_cutoffs: tuple[pd.Timestamp, ...]
    validation_cutoffs: tuple[pd.Timestamp, ...]
    layout: CutoffLayout | None = None  # the layout split on, logged with the run


def split_by_layout(frame: pd.DataFrame, layout: CutoffLayout) -> TimeSplit:
    """Masks for the rows of ``frame`` at the layout's training and validation cutoffs.

    Rows at embargoed cutoffs are on neither side. Training passes the layout it checked
    (``ProblemDefinition.training_layout``), so the split is the one the check counted.
    """
    values = frame["cutoff"].to_numpy()
    return TimeSplit(
        train=np.isin(values, np.array(layout.train_cutoffs, dtype="datetime64[ns]")),
        validation=np.isin(values, np.array(layout.validation_cutoffs, dtype="datetime64[ns]")),
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
