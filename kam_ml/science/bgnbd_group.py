"""BG/NBD P(alive) and expected purchases as a candidate feature group for the ablation.

The four parameters are refitted at every cutoff on the whole book known then
(point-in-time, but book-level: one account scored alone would get other values unless the
parameters were stored with the model, which is why it stays out of production unless it
wins on every book). The specs are in ``kam_ml.features.bgnbd``.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from kam_ml.data.tables import Tables
from kam_ml.features.bgnbd import SPECS
from kam_ml.features.registry import FeatureGroup
from kam_ml.problem.definition import ProblemDefinition
from kam_ml.science.btyd import BetaGeoModel, rfm_summary

__all__ = ["BGNBD_GROUP", "MIN_CUSTOMERS", "bgnbd_features"]

_WEEK = 7.0
# A book-level fit needs a book: on a handful of customers the likelihood has no interior
# maximum and the fitted parameters run off to infinity.
MIN_CUSTOMERS = 50


def bgnbd_features(
    history: Tables, cutoff: pd.Timestamp, definition: ProblemDefinition
) -> dict[str, np.ndarray]:
    """P(alive) and expected purchases for every account.

    NaN for accounts without orders, and for everyone in a book of fewer than
    ``MIN_CUSTOMERS`` buyers.
    """
    n = history.n_accounts
    p_alive, expected = np.full(n, np.nan), np.full(n, np.nan)
    summary = rfm_summary(history, cutoff, definition, time_unit_days=_WEEK)
    if len(summary) >= MIN_CUSTOMERS:
        model = BetaGeoModel().fit(summary)
        rows = pd.Index(history.accounts["account_id"]).get_indexer(summary["account_id"])
        p_alive[rows] = model.probability_alive(summary)
        expected[rows] = model.expected_purchases(summary, definition.horizon_days / _WEEK)
    return {"bgnbd_p_alive": p_alive, "bgnbd_expected_orders": expected}


BGNBD_GROUP = FeatureGroup(SPECS, bgnbd_features)
