"""The churn model against BG/NBD and recency on real data, through ``kam-ml train``/``score``.

Protocol for one setting (as-of T, horizon H): the churn model is what ``kam-ml train
--as-of T --horizon-days H`` registers with default settings, and its scores are what
``kam-ml score --as-of T`` writes: ``train_churn`` on the adaptive cutoff layout of
``ProblemDefinition().with_horizon(H)`` (label windows end by T), then ``refit_churn`` on
every labelled cutoff, bundled as the gate bundles it and scored by ``score_accounts`` on
the accounts active at T (``forward_churn_scores``). BG/NBD is fitted on the history known
at T (``bgnbd_scores``). Every scorer is judged on the same rows against the realised
"no order in (T, T + H]", so the data after T must reach T + H.

The CLI's MLflow logging, gate and pickle round trip do not change the scores (a fresh
store promotes the first version; a bundle reloads to identical predictions), so they are
left out and a setting takes about half a minute on CDNOW. The offer and value models do
not touch the churn probability and are not trained.

``btyd_oracle_check`` runs the same path on the buy-till-you-die book
(``kam_ml.demo.btyd_book``), whose truth records the best achievable scores.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass

import numpy as np
import pandas as pd
from sklearn.metrics import roc_auc_score

from kam_ml.churn.baselines import recency_score
from kam_ml.churn.job import churn_spec
from kam_ml.churn.model import ChurnModel
from kam_ml.churn.training import refit_churn, train_churn
from kam_ml.data.tables import Tables
from kam_ml.data.validation import validate_tables
from kam_ml.demo.btyd_book import generate_btyd_book
from kam_ml.errors import NotEnoughHistoryError
from kam_ml.evaluation.classification import churn_metrics
from kam_ml.features import build_features
from kam_ml.problem.definition import CutoffLayout, ProblemDefinition
from kam_ml.problem.labels import churn_labels
from kam_ml.registry.champions import ScoringModels
from kam_ml.registry.gate import model_bundle
from kam_ml.science.btyd import BetaGeoModel, BGNBDParams, rfm_summary
from kam_ml.scoring.score import score_accounts

__all__ = [
    "DEFAULT_SETTINGS",
    "PUBLISHED_FHL2005",
    "SCORERS",
    "BenchmarkSetting",
    "ForwardScores",
    "benchmark_markdown",
    "bgnbd_scores",
    "btyd_oracle_check",
    "fhl2005_check",
    "forward_churn_scores",
    "oracle_markdown",
    "paired_auc_difference",
    "run_churn_benchmark",
]

PUBLISHED_FHL2005 = BGNBDParams(r=0.243, alpha=4.414, a=0.793, b=2.426)
_WEEK = 7.0


@dataclass(frozen=True)
class BenchmarkSetting:
    """One as-of date and horizon; the label window (T, T + H] must end inside the data."""

    as_of: pd.Timestamp
    horizon_days: int


# The settings benchmarked since CDNOW was added; 1998-03-31 takes 91 days so that its label
# window ends on the data's last day (1998-06-30), the setting of issue 9's target.
DEFAULT_SETTINGS: tuple[BenchmarkSetting, ...] = tuple(
    BenchmarkSetting(pd.Timestamp(day), horizon)
    for day, horizon in [
        ("1997-12-31", 90),
        ("1998-01-31", 90),
        ("1998-02-28", 90),
        ("1998-03-31", 91),
        ("1997-11-30", 180),
        ("1997-12-31", 180),
    ]
)

SCORERS = ("churn_model", "bgnbd_p_alive", "bgnbd_expected_purchases", "recency")


@dataclass(frozen=True)
class ForwardScores:
    """What ``kam-ml score`` at T writes for the accounts active at T, and what happened.

    scores: ``score_accounts``'s frame plus ``churned`` (no order in (T, T + H]) and
        ``days_since_last_order``, rows in the scoring order.
    layout: the cutoff layout ``kam-ml train`` chose (and printed); the registered model
        was refit on all of ``layout.cutoffs``.
    """

    scores: pd.DataFrame
    layout: CutoffLayout


def forward_churn_scores(
    tables: Tables,
    as_of: pd.Timestamp,
    definition: ProblemDefinition,
    *,
    model: ChurnModel | None = None,
) -> ForwardScores:
    """Train as ``kam-ml train`` does at ``as_of``, score as ``kam-ml score`` does, label.

    ``model`` replaces the default ``ChurnModel()`` (a small one, in tests).
    """
    as_of = pd.Timestamp(as_of).normalize()
    trained = train_churn(tables, as_of, definition, model=model)
    if trained.split.layout is None:  # train_churn always lays out its cutoffs
        raise ValueError("train_churn returned a split without its cutoff layout.")
    refit = refit_churn(trained)
    bundle = model_bundle(refit.result, churn_spec(), version="forward", fitted_on=refit.cutoffs)
    scores = score_accounts(tables, as_of, ScoringModels(churn=bundle))
    features = build_features(tables, as_of, definition)
    if not features["account_id"].reset_index(drop=True).equals(scores["account_id"]):
        raise RuntimeError("score_accounts and build_features disagree on the rows at T.")
    scores["churned"] = churn_labels(tables, features, definition)
    scores["days_since_last_order"] = recency_score(features)
    return ForwardScores(scores, trained.split.layout)


def bgnbd_scores(
    tables: Tables, as_of: pd.Timestamp, definition: ProblemDefinition
) -> pd.DataFrame:
    """BG/NBD fitted on every account's history up to ``as_of``: P(alive) and the expected
    purchases in (T, T + horizon], one row per account with an order by then."""
    summary = rfm_summary(tables, as_of, definition, time_unit_days=_WEEK)
    model = BetaGeoModel().fit(summary)
    return pd.DataFrame(
        {
            "account_id": summary["account_id"].to_numpy(),
            "bgnbd_p_alive": model.probability_alive(summary),
            "bgnbd_expected_purchases": model.expected_purchases(
                summary, definition.horizon_days / _WEEK
            ),
        }
    )


@dataclass(frozen=True)
class _Judged:
    """Every scorer's churn score (higher = likelier churn) on the accounts active at T.

    ``churn_model`` is NaN and ``untrainable`` holds ``kam-ml train``'s message when the
    CLI stops at this setting (``NotEnoughHistoryError``); the baselines are still judged.
    """

    rows: pd.DataFrame
    layout: CutoffLayout | None
    untrainable: str | None = None


def _judged_rows(
    tables: Tables,
    setting: BenchmarkSetting,
    model: ChurnModel | None,
) -> _Judged:
    definition = ProblemDefinition().with_horizon(setting.horizon_days)
    as_of = pd.Timestamp(setting.as_of).normalize()
    bgnbd = bgnbd_scores(tables, as_of, definition)
    layout: CutoffLayout | None = None
    untrainable = None
    try:
        forward = forward_churn_scores(tables, as_of, definition, model=model)
        scored, layout = forward.scores, forward.layout
    except NotEnoughHistoryError as error:  # what kam-ml train says, exit 1
        untrainable = str(error)
        features = build_features(tables, as_of, definition)
        scored = pd.DataFrame(
            {
                "account_id": features["account_id"].to_numpy(dtype=object),
                "churn_probability": np.nan,
                "churned": churn_labels(tables, features, definition),
                "days_since_last_order": recency_score(features),
            }
        )
    rows = scored.merge(bgnbd, on="account_id", how="left", validate="one_to_one")
    judged = pd.DataFrame(
        {
            "account_id": rows["account_id"],
            "churned": rows["churned"].astype(int),
            "churn_model": rows["churn_probability"],
            "bgnbd_p_alive": 1.0 - rows["bgnbd_p_alive"],
            "bgnbd_expected_purchases": -rows["bgnbd_expected_purchases"],
            "recency": rows["days_since_last_order"],
        }
    )
    return _Judged(judged, layout, untrainable)


def run_churn_benchmark(
    tables: Tables,
    settings: Sequence[BenchmarkSetting] = DEFAULT_SETTINGS,
    *,
    make_model: Callable[[], ChurnModel] | None = None,
    on_setting_done: Callable[[BenchmarkSetting, float], None] | None = None,
) -> pd.DataFrame:
    """One row per (setting, scorer): ROC-AUC, PR-AUC, top-decile lift, rows, churn rate,
    the training layout, and for the churn model the paired bootstrap 95% interval of its
    ROC-AUC lead over BG/NBD expected purchases.

    A setting ``kam-ml train`` refuses (too little history for the horizon) keeps its
    baselines; its churn model row has NaN metrics and the CLI's message in ``untrainable``.
    ``make_model`` replaces the default ``ChurnModel`` (tests); ``on_setting_done`` gets
    each setting and the seconds it took.
    """
    rows = []
    for setting in settings:
        started = time.perf_counter()
        judged = _judged_rows(tables, setting, None if make_model is None else make_model())
        frame, layout = judged.rows, judged.layout
        y = frame["churned"].to_numpy()
        low = high = np.nan
        if judged.untrainable is None:
            low, high = paired_auc_difference(
                y,
                frame["churn_model"].to_numpy(),
                frame["bgnbd_expected_purchases"].to_numpy(),
                seed=0,
            )
        for name in SCORERS:
            missing = name == "churn_model" and judged.untrainable is not None
            metrics = (
                dict.fromkeys(("roc_auc", "pr_auc", "top_decile_lift"), np.nan)
                if missing
                else churn_metrics(y, frame[name].to_numpy(), is_probability=False)
            )
            rows.append(
                {
                    "as_of": pd.Timestamp(setting.as_of).date().isoformat(),
                    "horizon_days": setting.horizon_days,
                    "scorer": name,
                    "accounts": int(len(y)),
                    "churn_rate": float(np.mean(y)),
                    "train_cutoffs": len(layout.train_cutoffs) if layout else 0,
                    "refit_cutoffs": len(layout.cutoffs) if layout else 0,
                    "cutoff_step_days": layout.step_days if layout else None,
                    **metrics,
                    "delta_vs_bgnbd_low": low if name == "churn_model" else np.nan,
                    "delta_vs_bgnbd_high": high if name == "churn_model" else np.nan,
                    "untrainable": judged.untrainable if name == "churn_model" else None,
                }
            )
        if on_setting_done is not None:
            on_setting_done(setting, time.perf_counter() - started)
    return pd.DataFrame(rows)


def btyd_oracle_check(
    n_accounts: int = 3000,
    seed: int = 3,
    *,
    end_date: str | pd.Timestamp = "2026-10-31",
    horizon_days: int = 90,
    make_model: Callable[[], ChurnModel] | None = None,
) -> pd.DataFrame:
    """The forward path on the buy-till-you-die book, against the oracles in its truth.

    The book (``kam-ml demo-data --generator btyd --accounts N --seed S``) ends at
    ``end_date``; T is ``horizon_days`` earlier, the newest as-of date with a realised label.
    One row per scorer (the churn model, both oracles, BG/NBD, recency): ROC-AUC on the
    accounts active at T and its ratio to the latent and to the history oracle.
    """
    end = pd.Timestamp(end_date).normalize()
    as_of = end - pd.Timedelta(days=horizon_days)
    book = generate_btyd_book(
        n_accounts=n_accounts,
        seed=seed,
        end_date=end,
        truth_cutoffs=[as_of],
        horizon_days=horizon_days,
    )
    raw = book.raw_tables()
    tables = validate_tables(raw, on_bad_rows="refuse").tables
    setting = BenchmarkSetting(as_of, horizon_days)
    judged = _judged_rows(tables, setting, None if make_model is None else make_model())
    if judged.untrainable is not None:
        raise NotEnoughHistoryError(judged.untrainable)
    truth = book.truth[["account_id", "churned", "true_churn_probability"]]
    truth = truth.assign(history=book.truth["history_churn_probability"])
    rows = judged.rows.merge(truth, on="account_id", how="inner", suffixes=("", "_truth"))
    if len(rows) != len(judged.rows) or not (rows["churned"] == rows["churned_truth"]).all():
        raise RuntimeError("The book's truth and the scored rows disagree on who is active.")
    y = rows["churned"].to_numpy()
    columns = {
        "latent_oracle": "true_churn_probability",
        "history_oracle": "history",
        "churn_model": "churn_model",
        "bgnbd_expected_purchases": "bgnbd_expected_purchases",
        "bgnbd_p_alive": "bgnbd_p_alive",
        "recency": "recency",
    }
    auc = {name: float(roc_auc_score(y, rows[column])) for name, column in columns.items()}
    return pd.DataFrame(
        {
            "as_of": as_of.date().isoformat(),
            "horizon_days": horizon_days,
            "scorer": list(auc),
            "accounts": len(rows),
            "churn_rate": float(np.mean(y)),
            "roc_auc": list(auc.values()),
            "of_latent_oracle": [v / auc["latent_oracle"] for v in auc.values()],
            "of_history_oracle": [v / auc["history_oracle"] for v in auc.values()],
        }
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


_HEADERS = {
    "churn_model": "churn model",
    "bgnbd_p_alive": "BG/NBD P(alive)",
    "bgnbd_expected_purchases": "BG/NBD expected purchases",
    "recency": "recency",
    "latent_oracle": "latent oracle",
    "history_oracle": "history oracle",
}


def benchmark_markdown(results: pd.DataFrame) -> str:
    """The README table: one line per setting, "ROC-AUC / PR-AUC" per scorer.

    The best ROC-AUC of each line is in bold; the last column is the churn model's lead
    over BG/NBD expected purchases with its bootstrap interval. A setting ``kam-ml train``
    refuses shows "not trained" for the model (``run_churn_benchmark``'s ``untrainable``).
    """
    scorers = [s for s in SCORERS if s in set(results["scorer"])]
    header = ["as-of T", "H (days)", "active at T", "churn rate", "cutoffs (train / refit)"]
    header += [_HEADERS[s] for s in scorers]
    header.append("model − BG/NBD E[purchases], ROC-AUC (95% CI)")
    lines = ["| " + " | ".join(header) + " |", "|" + "---|" * len(header)]
    for (as_of, horizon), group in results.groupby(["as_of", "horizon_days"], sort=False):
        by_scorer = group.set_index("scorer")
        best = by_scorer["roc_auc"].max()
        first = group.iloc[0]
        trained = bool(np.isfinite(by_scorer.loc["churn_model", "roc_auc"]))
        cells = [
            str(as_of),
            str(horizon),
            f"{first['accounts']:,}",
            f"{first['churn_rate']:.1%}",
            f"{first['train_cutoffs']} / {first['refit_cutoffs']}" if trained else "–",
        ]
        for scorer in scorers:
            roc, pr = by_scorer.loc[scorer, "roc_auc"], by_scorer.loc[scorer, "pr_auc"]
            if not np.isfinite(roc):
                cells.append("not trained¹")
                continue
            roc_text = f"**{roc:.3f}**" if np.isclose(roc, best) else f"{roc:.3f}"
            cells.append(f"{roc_text} / {pr:.3f}")
        if trained:
            model = by_scorer.loc["churn_model"]
            delta = model["roc_auc"] - by_scorer.loc["bgnbd_expected_purchases", "roc_auc"]
            low, high = model["delta_vs_bgnbd_low"], model["delta_vs_bgnbd_high"]
            cells.append(_signed(delta) + f" ({_signed(low)} .. {_signed(high)})")
        else:
            cells.append("–")
        lines.append("| " + " | ".join(cells) + " |")
    refused = results[results["untrainable"].notna()] if "untrainable" in results else None
    for row in [] if refused is None else refused.itertuples(index=False):
        lines.append(
            f"\n¹ `kam-ml train --as-of {row.as_of} --horizon-days {row.horizon_days}` "
            f"stops (exit 1): {row.untrainable}"
        )
    return "\n".join(lines)


def oracle_markdown(check: pd.DataFrame) -> str:
    """The second book's line: ROC-AUC and its ratio to each oracle, one row per scorer."""
    lines = [
        "| scorer | ROC-AUC | / latent oracle | / history oracle |",
        "|---|---|---|---|",
    ]
    for row in check.itertuples(index=False):
        lines.append(
            f"| {_HEADERS[str(row.scorer)]} | {row.roc_auc:.3f} | "
            f"{row.of_latent_oracle:.3f} | {row.of_history_oracle:.3f} |"
        )
    return "\n".join(lines)


def _signed(value: float) -> str:
    """+0.004 / −0.002, with a true minus sign as the README writes it."""
    return f"{value:+.3f}".replace("-", "−")
