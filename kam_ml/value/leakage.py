"""The value model's leakage alarm: its features at T must not read rows dated after T.

The value model reads the churn model's account features at its own cutoffs, so the
point-in-time half of churn's check applies unchanged (``kam_ml.features.point_in_time``);
a ROC-AUC ceiling has no counterpart for a revenue regression.
"""

from __future__ import annotations

import pandas as pd

from kam_ml.data.tables import Tables
from kam_ml.features.point_in_time import account_feature_changes, point_in_time_alarm
from kam_ml.value.training import ValueTrainingResult

__all__ = ["value_leakage_alarms"]


def value_leakage_alarms(result: ValueTrainingResult, tables: Tables) -> tuple[str, ...]:
    """The alarm (empty when clean) from rebuilding the newest validation cutoff's feature
    rows from the history known at that cutoff."""
    cutoff = pd.Timestamp(result.split.validation_cutoffs[-1])
    changes = account_feature_changes(
        result.validation_features, tables, cutoff, result.definition, result.feature_names
    )
    alarm = point_in_time_alarm(changes, cutoff)
    return () if alarm is None else (alarm,)
