"""Leakage alarms: evidence that a model saw the future, checked before it may be promoted.

Two alarms, either of which blocks promotion:

implausible validation AUC
    Churn of key accounts is never that predictable from the past alone; a validation
    ROC-AUC above ``auc_ceiling`` (0.97) almost always means a feature encodes the label,
    unless a naive rule (recency, RFM) scores within ``NAIVE_EXPLAINS`` (0.02) of it on the
    same rows: those rules read a few history features, which the point-in-time alarm
    checks, so then the book *is* that predictable (a book of one-time buyers: model
    0.990, RFM 0.989) and the ceiling says nothing about a leak.
point-in-time violation
    The feature rows of the newest validation cutoff T are rebuilt from
    ``definition.history_at(tables, T)``, i.e. with every row after T removed, and compared
    with the rows the model was evaluated on. Any difference means some feature reads rows
    dated after its cutoff. The check itself is ``kam_ml.features.point_in_time``; the
    offer and value jobs run it on their own rows too.

The alarms become the churn ``ModelSpec``'s ``leakage_alarms`` (``kam_ml.churn.job``), so the
gate blocks and the card's grade reads ``blocked``.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
import pandas as pd

from kam_ml.churn.training import ChurnTrainingResult
from kam_ml.data.tables import Tables
from kam_ml.features.point_in_time import account_feature_changes, point_in_time_alarm

__all__ = [
    "AUC_CEILING",
    "NAIVE_EXPLAINS",
    "LeakageReport",
    "check_leakage",
    "point_in_time_violations",
]

AUC_CEILING = 0.97
NAIVE_EXPLAINS = 0.02


@dataclass(frozen=True)
class LeakageReport:
    """The alarms that fired (empty when clean) and what was checked."""

    alarms: tuple[str, ...]
    validation_roc_auc: float
    auc_ceiling: float
    checked_cutoff: str
    leaking_features: tuple[str, ...] = field(default_factory=tuple)

    @property
    def fired(self) -> bool:
        return bool(self.alarms)

    def as_dict(self) -> dict[str, object]:
        return {
            "fired": self.fired,
            "alarms": list(self.alarms),
            "validation_roc_auc": self.validation_roc_auc,
            "auc_ceiling": self.auc_ceiling,
            "checked_cutoff": self.checked_cutoff,
            "leaking_features": list(self.leaking_features),
        }


def check_leakage(
    result: ChurnTrainingResult, tables: Tables, *, auc_ceiling: float = AUC_CEILING
) -> LeakageReport:
    """Run both alarms on a training result and the tables it was trained on."""
    alarms = []
    auc = float(result.metrics["model"]["roc_auc"])
    naive = [
        float(m.get("roc_auc", np.nan)) for name, m in result.metrics.items() if name != "model"
    ]
    best_naive = max((a for a in naive if np.isfinite(a)), default=-np.inf)
    explained = auc - best_naive <= NAIVE_EXPLAINS
    if np.isfinite(auc) and auc > auc_ceiling and not explained:
        alarms.append(
            f"validation ROC-AUC {auc:.3f} is above the plausibility ceiling {auc_ceiling:.2f}: "
            "a feature probably encodes the label"
        )
    cutoff = pd.Timestamp(result.split.validation_cutoffs[-1])
    leaking = point_in_time_violations(result, tables, cutoff)
    alarm = point_in_time_alarm(leaking, cutoff)
    if alarm is not None:
        alarms.append(alarm)
    return LeakageReport(
        alarms=tuple(alarms),
        validation_roc_auc=auc,
        auc_ceiling=auc_ceiling,
        checked_cutoff=str(cutoff.date()),
        leaking_features=tuple(leaking),
    )


def point_in_time_violations(
    result: ChurnTrainingResult, tables: Tables, cutoff: pd.Timestamp
) -> dict[str, str]:
    """Features whose values at ``cutoff`` differ once history after it is removed.

    Returns ``{feature: "N accounts, e.g. A-1, A-2"}``; empty when every feature is clean.
    """
    return account_feature_changes(
        result.validation_features, tables, cutoff, result.definition, result.feature_names
    )
