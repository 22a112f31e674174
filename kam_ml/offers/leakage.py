"""The offer ranker's leakage alarm: pair features at T must not read rows dated after T.

Only the point-in-time half of churn's check applies (``kam_ml.features.point_in_time``):
NDCG has no plausibility ceiling the way a churn ROC-AUC of 0.99 has.
"""

from __future__ import annotations

import pandas as pd

from kam_ml.data.tables import Tables
from kam_ml.features.point_in_time import changed_features, point_in_time_alarm
from kam_ml.offers.pairs import build_offer_pairs
from kam_ml.offers.training import OfferTrainingResult

__all__ = ["offer_leakage_alarms"]


def offer_leakage_alarms(result: OfferTrainingResult, tables: Tables) -> tuple[str, ...]:
    """The alarm (empty when clean) from rebuilding the newest validation cutoff's pairs,
    book statistics included, from the history known at that cutoff."""
    cutoff = pd.Timestamp(result.split.validation_cutoffs[-1])
    pairs = result.validation_pairs
    evaluated = pairs.loc[pairs["cutoff"] == cutoff]
    rebuilt = build_offer_pairs(
        result.definition.history_at(tables, cutoff),
        cutoff,
        result.definition,
        candidates=result.candidates,
    )
    changes = changed_features(
        evaluated,
        rebuilt,
        keys=["account_id", "category"],
        features=result.feature_names,
        unit="pairs",
    )
    alarm = point_in_time_alarm(changes, cutoff)
    return () if alarm is None else (alarm,)
