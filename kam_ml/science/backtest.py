"""The backtest in money: how much of next quarter's lost revenue sat at the top of the list.

For each past as-of date T the nightly list is replayed: a churn model that saw nothing
after T (``fit_churn_as_of``) scores the accounts active at T, and each manager's and each
region's list is ranked as the nightly list ranks it, by revenue at risk (probability x
last-365-day revenue; by probability alone and by recency next to it). An account that
then churns in (T, T + horizon] loses its run-rate revenue for the horizon — its last 365
days' revenue scaled to the horizon, ``revenue_365d * horizon / 365``. The figure a sales
director asks for is the share of that lost revenue that sat in the top N of each list.

The refitted model is fitted on the cutoffs whose label windows end by T
(``ProblemDefinition.training_cutoff_dates``), the newest of them calibrating, exactly as
``kam_ml.churn.training`` lays them out, but with no cutoff held back for validation (the
replayed date itself is the test). The CDNOW benchmark does not: it follows
``kam-ml train`` itself (``kam_ml.science.cdnow_benchmark``).

With ``bundle`` given, the current champion scores every date instead of a refitted
model. Faster, but a champion trained on data after an early T has seen those outcomes,
so its shares are optimistic for dates before its training cutoffs.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence

import numpy as np
import pandas as pd

from kam_ml.churn.model import ChurnModel
from kam_ml.data.tables import Tables
from kam_ml.features import FEATURE_COLUMNS, build_features
from kam_ml.problem.definition import ProblemDefinition
from kam_ml.problem.labels import churn_labels
from kam_ml.registry.bundle import ModelBundle

__all__ = [
    "LEVELS",
    "TOP_N",
    "capture_table",
    "fit_churn_as_of",
    "lost_revenue_backtest",
    "replay_lists",
    "summarise_capture",
    "training_frame_as_of",
]

TOP_N = (10, 25, 50)
LEVELS = ("all", "region", "manager")
# How a list is ordered: the nightly list's own order (revenue at risk = churn probability x
# last-365-day revenue, see ``kam_ml.scoring.explained``), the probability alone, and the manager's
# by-hand order (longest since the last order first).
RANKINGS = {
    "revenue_at_risk": "revenue_at_risk",
    "probability": "churn_probability",
    "recency": "days_since_last_order",
}


def training_frame_as_of(
    tables: Tables, as_of: pd.Timestamp, definition: ProblemDefinition
) -> tuple[pd.DataFrame, np.ndarray, list[pd.Timestamp]]:
    """Feature rows and churn labels of every cutoff whose label window ends by ``as_of``."""
    cutoffs = definition.training_cutoff_dates(pd.Timestamp(as_of), tables.first_date())
    features = build_features(tables, cutoffs, definition)
    return features, churn_labels(tables, features, definition), cutoffs


def fit_churn_as_of(
    features: pd.DataFrame,
    labels: np.ndarray,
    *,
    columns: Sequence[str] = FEATURE_COLUMNS,
    make_model: Callable[[], ChurnModel] = ChurnModel,
) -> ChurnModel:
    """Fit on every cutoff in ``features`` but the newest, which calibrates."""
    newest = features["cutoff"].max()
    calibration = (features["cutoff"] == newest).to_numpy()
    return make_model().fit(features[list(columns)], labels, calibration_mask=calibration)


def replay_lists(
    tables: Tables,
    as_of_dates: Sequence[pd.Timestamp],
    definition: ProblemDefinition,
    *,
    bundle: ModelBundle | None = None,
    make_model: Callable[[], ChurnModel] = ChurnModel,
) -> pd.DataFrame:
    """The list of every replayed date: one row per account active at T.

    Columns: as_of, account_id, manager, region, churn_probability, revenue_at_risk,
    days_since_last_order, churned, lost_revenue.
    """
    lists = []
    accounts = tables.accounts.set_index("account_id")
    for as_of in sorted(pd.Timestamp(d).normalize() for d in as_of_dates):
        features = build_features(tables, as_of, definition)
        if bundle is not None:
            model, columns = bundle.model, list(bundle.feature_names)
        else:
            train, labels, _ = training_frame_as_of(tables, as_of, definition)
            model = fit_churn_as_of(train, labels, make_model=make_model)
            columns = list(model.feature_names_in_)
        churned = churn_labels(tables, features, definition).astype(bool)
        revenue = features["revenue_365d"].fillna(0.0).to_numpy(dtype=np.float64)
        run_rate = revenue * definition.horizon_days / 365
        probability = model.predict_proba(features[columns])[:, 1]
        ids = features["account_id"].to_numpy(dtype=object)
        lists.append(
            pd.DataFrame(
                {
                    "as_of": as_of,
                    "account_id": ids,
                    "manager": accounts["manager"].reindex(ids).to_numpy(dtype=object),
                    "region": accounts["region"].reindex(ids).to_numpy(dtype=object),
                    "churn_probability": probability,
                    "revenue_at_risk": probability * revenue,
                    "days_since_last_order": features["days_since_last_order"].to_numpy(),
                    "churned": churned,
                    "lost_revenue": np.where(churned, run_rate, 0.0),
                }
            )
        )
    return pd.concat(lists, ignore_index=True)


def lost_revenue_backtest(
    tables: Tables,
    as_of_dates: Sequence[pd.Timestamp],
    definition: ProblemDefinition,
    *,
    top_n: Sequence[int] = TOP_N,
    bundle: ModelBundle | None = None,
    make_model: Callable[[], ChurnModel] = ChurnModel,
) -> pd.DataFrame:
    """Lost revenue captured in the top N of each list, per date, level and group.

    One row per (as_of, level, group, ranking); ``ranking`` is ``revenue_at_risk`` (the
    nightly list), ``probability`` or ``recency`` (by days since the last order, what a
    manager does by hand).
    Columns ``lost_revenue`` and, per N, ``captured_top{N}`` and ``share_top{N}``.
    """
    lists = replay_lists(tables, as_of_dates, definition, bundle=bundle, make_model=make_model)
    return capture_table(lists, top_n)


def capture_table(lists: pd.DataFrame, top_n: Sequence[int] = TOP_N) -> pd.DataFrame:
    """``lost_revenue_backtest`` on already replayed lists (see ``replay_lists``)."""
    rows = []
    frame = lists.assign(all="all book")
    for ranking, score in RANKINGS.items():
        for level in LEVELS:
            ordered = frame.sort_values(
                ["as_of", level, score, "account_id"],
                ascending=[True, True, False, True],
                kind="stable",
            )
            position = ordered.groupby(["as_of", level], sort=False).cumcount()
            for (as_of, group), part in ordered.groupby(["as_of", level], sort=True):
                place = position.loc[part.index].to_numpy()
                lost = part["lost_revenue"].to_numpy()
                row: dict[str, object] = {
                    "as_of": as_of,
                    "level": level,
                    "group": group,
                    "ranking": ranking,
                    "accounts": len(part),
                    "churned": int(part["churned"].sum()),
                    "lost_revenue": float(lost.sum()),
                }
                for n in top_n:
                    captured = float(lost[place < n].sum())
                    row[f"captured_top{n}"] = captured
                    row[f"share_top{n}"] = captured / lost.sum() if lost.sum() > 0 else np.nan
                rows.append(row)
    return pd.DataFrame(rows)


def summarise_capture(capture: pd.DataFrame, top_n: Sequence[int] = TOP_N) -> pd.DataFrame:
    """Over all replayed dates: lost revenue and the share of it each top-N list held."""
    keys = ["level", "group", "ranking"]
    summed = capture.groupby(keys, sort=True)[
        ["accounts", "churned", "lost_revenue", *[f"captured_top{n}" for n in top_n]]
    ].sum()
    for n in top_n:
        summed[f"share_top{n}"] = summed[f"captured_top{n}"] / summed["lost_revenue"].where(
            summed["lost_revenue"] > 0
        )
    return summed.reset_index()
