"""The churn model against BG/NBD and recency on CDNOW, at several as-of dates and horizons.

Protocol for one setting (as-of T, horizon H): the churn model is fitted on cutoffs whose
label windows end by T (``ProblemDefinition.training_cutoff_dates``), calibrated on the
newest of them, and scored on the accounts active at T; every scorer is judged on the same
rows against "no order in (T, T + H]". BG/NBD is refitted on all history known at each
cutoff (calibration = everything up to the cutoff), so it never sees the label window
either. A second churn model also receives BG/NBD's P(alive) and expected purchases as
features, which answers whether the textbook model adds anything the features lack.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass

import numpy as np
import pandas as pd
from sklearn.metrics import roc_auc_score

from kam_ml.churn.model import ChurnModel
from kam_ml.data.tables import Tables
from kam_ml.evaluation.classification import churn_metrics
from kam_ml.features import FEATURE_COLUMNS, build_features
from kam_ml.problem.definition import ProblemDefinition
from kam_ml.problem.labels import churn_labels
from kam_ml.science.backtest import fit_churn_as_of, training_frame_as_of
from kam_ml.science.btyd import BetaGeoModel, BGNBDParams, rfm_summary

__all__ = [
    "BGNBD_FEATURES",
    "DEFAULT_SETTINGS",
    "PUBLISHED_FHL2005",
    "BenchmarkSetting",
    "benchmark_markdown",
    "bgnbd_features",
    "fhl2005_check",
    "paired_auc_difference",
    "run_churn_benchmark",
]

BGNBD_FEATURES = ("bgnbd_p_alive", "bgnbd_expected_purchases")
PUBLISHED_FHL2005 = BGNBDParams(r=0.243, alpha=4.414, a=0.793, b=2.426)
_WEEK = 7.0


@dataclass(frozen=True)
class BenchmarkSetting:
    """One as-of date and horizon; the label window (T, T + H] must end inside the data."""

    as_of: pd.Timestamp
    horizon_days: int


DEFAULT_SETTINGS: tuple[BenchmarkSetting, ...] = tuple(
    BenchmarkSetting(pd.Timestamp(day), horizon)
    for day, horizon in [
        ("1997-12-31", 90),
        ("1998-01-31", 90),
        ("1998-02-28", 90),
        ("1998-03-31", 90),
        ("1997-11-30", 180),
        ("1997-12-31", 180),
    ]
)

SCORERS = (
    "churn_model",
    "churn_model+bgnbd",
    "bgnbd_p_alive",
    "bgnbd_expected_purchases",
    "recency",
)


def fhl2005_check(sample: Tables) -> pd.DataFrame:
    """BG/NBD on the 1/10 CDNOW sample, 39 weeks from 1997-01-01, next to the paper's table."""
    summary = rfm_summary(sample, pd.Timestamp("1997-09-30"), ProblemDefinition())
    model = BetaGeoModel().fit(summary)
    fitted = model.params_.as_dict()
    return pd.DataFrame(
        {
            "published": PUBLISHED_FHL2005.as_dict(),
            "fitted": {k: round(v, 3) for k, v in fitted.items()},
        }
    ).assign(log_likelihood=round(model.log_likelihood_, 1), customers=len(summary))


def bgnbd_features(
    tables: Tables, cutoffs: Sequence[pd.Timestamp], definition: ProblemDefinition
) -> pd.DataFrame:
    """P(alive) and expected purchases over the horizon, per (account, cutoff).

    BG/NBD is refitted at every cutoff on the history known then.
    """
    frames = []
    for cutoff in cutoffs:
        summary = rfm_summary(tables, cutoff, definition, time_unit_days=_WEEK)
        model = BetaGeoModel().fit(summary)
        frames.append(
            pd.DataFrame(
                {
                    "account_id": summary["account_id"].to_numpy(),
                    "cutoff": pd.Timestamp(cutoff).normalize(),
                    "bgnbd_p_alive": model.probability_alive(summary),
                    "bgnbd_expected_purchases": model.expected_purchases(
                        summary, definition.horizon_days / _WEEK
                    ),
                }
            )
        )
    frame = pd.concat(frames, ignore_index=True)
    frame["cutoff"] = frame["cutoff"].astype("datetime64[ns]")
    return frame


def run_churn_benchmark(
    tables: Tables,
    settings: Sequence[BenchmarkSetting] = DEFAULT_SETTINGS,
    *,
    definition: ProblemDefinition | None = None,
    make_model: Callable[[], ChurnModel] = ChurnModel,
    on_setting_done: Callable[[BenchmarkSetting], None] | None = None,
) -> pd.DataFrame:
    """One row per (setting, scorer): ROC-AUC, PR-AUC, top-decile lift, rows and churn rate.

    ``definition`` gives everything but the horizon (default: monthly cutoffs, one
    validation cutoff, as the short CDNOW history allows).
    """
    base = definition or ProblemDefinition(training_cutoffs=12, validation_cutoffs=1)
    rows = []
    for setting in settings:
        rows.extend(_one_setting(tables, setting, base, make_model))
        if on_setting_done is not None:
            on_setting_done(setting)
    return pd.DataFrame(rows)


def _one_setting(
    tables: Tables,
    setting: BenchmarkSetting,
    base: ProblemDefinition,
    make_model: Callable[[], ChurnModel],
) -> list[dict[str, object]]:
    definition = base.with_horizon(setting.horizon_days)
    as_of = pd.Timestamp(setting.as_of).normalize()
    train, train_labels, train_cutoffs = training_frame_as_of(tables, as_of, definition)
    test = build_features(tables, as_of, definition)
    y = churn_labels(tables, test, definition)
    bgnbd = bgnbd_features(tables, [*train_cutoffs, as_of], definition)
    train = train.merge(bgnbd, on=["account_id", "cutoff"], how="left")
    test = test.merge(bgnbd, on=["account_id", "cutoff"], how="left")

    scores: dict[str, np.ndarray] = {}
    for name, columns in (
        ("churn_model", list(FEATURE_COLUMNS)),
        ("churn_model+bgnbd", [*FEATURE_COLUMNS, *BGNBD_FEATURES]),
    ):
        model = fit_churn_as_of(train, train_labels, columns=columns, make_model=make_model)
        scores[name] = model.predict_proba(test[columns])[:, 1]
    scores["bgnbd_p_alive"] = 1.0 - test["bgnbd_p_alive"].to_numpy()
    scores["bgnbd_expected_purchases"] = -test["bgnbd_expected_purchases"].to_numpy()
    scores["recency"] = test["days_since_last_order"].to_numpy(dtype=np.float64)
    low, high = paired_auc_difference(
        y, scores["churn_model"], scores["bgnbd_expected_purchases"], seed=0
    )
    return [
        {
            "as_of": as_of.date().isoformat(),
            "horizon_days": setting.horizon_days,
            "scorer": name,
            "accounts": int(len(y)),
            "churn_rate": float(np.mean(y)),
            "train_cutoffs": len(train_cutoffs),
            **churn_metrics(y, scores[name], is_probability=False),
            "delta_vs_bgnbd_low": low if name == "churn_model" else np.nan,
            "delta_vs_bgnbd_high": high if name == "churn_model" else np.nan,
        }
        for name in SCORERS
    ]


def paired_auc_difference(
    y: np.ndarray, first: np.ndarray, second: np.ndarray, *, n_boot: int = 200, seed: int = 0
) -> tuple[float, float]:
    """95% bootstrap interval of ROC-AUC(first) - ROC-AUC(second) on the same rows."""
    rng = np.random.default_rng(seed)
    y = np.asarray(y)
    deltas = []
    for _ in range(n_boot):
        rows = rng.integers(0, len(y), len(y))
        if len(np.unique(y[rows])) < 2:
            continue
        deltas.append(roc_auc_score(y[rows], first[rows]) - roc_auc_score(y[rows], second[rows]))
    low, high = np.percentile(deltas, [2.5, 97.5])
    return float(low), float(high)


def benchmark_markdown(results: pd.DataFrame) -> str:
    """The README table: one line per setting, "ROC-AUC / PR-AUC" per scorer.

    The best ROC-AUC of each line is in bold.
    """
    scorers = [s for s in SCORERS if s in set(results["scorer"])]
    header = ["as-of T", "H (days)", "active at T", "churn rate", *scorers]
    header.append("model - BG/NBD E[purchases], ROC-AUC (95% CI)")
    lines = ["| " + " | ".join(header) + " |", "|" + "---|" * len(header)]
    for (as_of, horizon), group in results.groupby(["as_of", "horizon_days"], sort=False):
        by_scorer = group.set_index("scorer")
        best = by_scorer["roc_auc"].max()
        cells = [
            str(as_of),
            str(horizon),
            f"{group['accounts'].iloc[0]:,}",
            f"{group['churn_rate'].iloc[0]:.1%}",
        ]
        for scorer in scorers:
            roc, pr = by_scorer.loc[scorer, "roc_auc"], by_scorer.loc[scorer, "pr_auc"]
            roc_text = f"**{roc:.3f}**" if np.isclose(roc, best) else f"{roc:.3f}"
            cells.append(f"{roc_text} / {pr:.3f}")
        model = by_scorer.loc["churn_model"]
        delta = model["roc_auc"] - by_scorer.loc["bgnbd_expected_purchases", "roc_auc"]
        low, high = model["delta_vs_bgnbd_low"], model["delta_vs_bgnbd_high"]
        cells.append(f"{delta:+.3f} ({low:+.3f} .. {high:+.3f})")
        lines.append("| " + " | ".join(cells) + " |")
    return "\n".join(lines)
