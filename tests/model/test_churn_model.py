"""The churn model finds the planted signal, beats the baselines and behaves sensibly."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from sklearn.metrics import roc_auc_score

from kam_ml.churn.training import ChurnTrainingResult, train_churn
from kam_ml.features import build_features
from kam_ml.problem.definition import ProblemDefinition
from kam_ml.problem.labels import churn_labels
from kam_ml.registry.champions import ScoringModels
from kam_ml.scoring.score import score_features


@pytest.fixture(scope="module")
def trained(demo_tables, demo_as_of) -> ChurnTrainingResult:
    return train_churn(demo_tables, demo_as_of, ProblemDefinition())


def test_model_beats_recency_and_rfm(trained):
    auc = trained.metrics["model"]["roc_auc"]
    assert auc > trained.metrics["recency"]["roc_auc"] + 0.02
    assert auc > trained.metrics["rfm"]["roc_auc"] + 0.02
    assert trained.metrics["model"]["pr_auc"] > trained.metrics["recency"]["pr_auc"]


def test_model_reaches_90_percent_of_the_oracle(trained, demo):
    truth = demo.truth.assign(cutoff=pd.to_datetime(demo.truth["cutoff"]))
    validation = trained.validation.merge(truth, on=["account_id", "cutoff"], how="inner")
    assert len(validation) > 0.9 * len(trained.validation)  # truth covers the validation rows
    oracle = roc_auc_score(validation["churned_x"], validation["true_churn_probability"])
    model = roc_auc_score(validation["churned_x"], validation["churn_probability"])
    assert (validation["churned_x"] == validation["churned_y"]).all()  # same label definition
    assert model >= 0.9 * oracle, (model, oracle)


def test_probabilities_are_calibrated(trained):
    """Calibrated on an older cutoff, so allow for base-rate drift, but not for mis-scaling."""
    v = trained.validation
    deciles = pd.qcut(v["churn_probability"], 10, labels=False, duplicates="drop")
    by_decile = v.groupby(deciles)[["churn_probability", "churned"]].mean()
    error = (by_decile["churn_probability"] - by_decile["churned"]).abs().mean()
    assert error < 0.07, by_decile
    assert trained.metrics["model"]["brier"] < v["churned"].mean() * (1 - v["churned"].mean())


def test_slices_cover_segments_regions_and_managers(trained):
    assert set(trained.slices["slice"]) == {"segment", "region", "manager"}
    assert trained.slices.groupby("slice")["rows"].sum().nunique() == 1


def _bundle(trained):
    from kam_ml.churn.job import churn_spec
    from kam_ml.registry.gate import model_bundle

    return model_bundle(trained, churn_spec(), version="test")


def test_scoring_at_a_cutoff_uses_exactly_the_training_rows(trained, demo_tables):
    cutoff = trained.split.validation_cutoffs[-1]
    scored = build_features(demo_tables, cutoff, trained.definition)
    rows = trained.validation_features
    training_rows = rows[rows["cutoff"] == cutoff].reset_index(drop=True)
    pd.testing.assert_frame_equal(scored, training_rows)


def test_more_complaints_raise_risk(trained, demo_tables, demo_as_of):
    features = build_features(demo_tables, demo_as_of, trained.definition)
    models = ScoringModels(churn=_bundle(trained))
    base = score_features(features, models).scores["churn_probability"].to_numpy()
    worse = features.assign(
        complaints_90d=features["complaints_90d"] + 3,
        complaints_365d=features["complaints_365d"] + 3,
        days_since_last_complaint=5.0,
    )
    raised = score_features(worse, models).scores["churn_probability"].to_numpy()
    assert raised.mean() > base.mean()
    assert (raised >= base - 1e-9).mean() > 0.9


def test_renaming_a_manager_does_not_change_scores(trained, demo_tables, demo_as_of):
    from dataclasses import replace

    accounts = demo_tables.accounts.assign(manager="Someone Else")
    renamed = replace(demo_tables, accounts=accounts)
    models = ScoringModels(churn=_bundle(trained))
    original = score_features(build_features(demo_tables, demo_as_of, trained.definition), models)
    moved = score_features(build_features(renamed, demo_as_of, trained.definition), models)
    np.testing.assert_array_equal(
        original.scores["churn_probability"], moved.scores["churn_probability"]
    )


def test_reasons_name_features_that_raise_risk(trained, demo_tables, demo_as_of):
    features = build_features(demo_tables, demo_as_of, trained.definition)
    scores = score_features(features, ScoringModels(churn=_bundle(trained))).scores
    high = scores[scores["risk_band"] == "high"]
    assert len(high) > 0
    assert high["reasons"].map(len).eq(3).mean() > 0.95
    assert all(isinstance(r, str) and r for reasons in high["reasons"] for r in reasons)


def test_labels_match_the_generators_realised_churn(demo, demo_tables):
    truth = demo.truth.assign(cutoff=pd.to_datetime(demo.truth["cutoff"]))
    cutoff = truth["cutoff"].max()
    features = build_features(demo_tables, cutoff, ProblemDefinition())
    labels = churn_labels(demo_tables, features, ProblemDefinition())
    merged = (
        features[["account_id"]]
        .assign(label=labels)
        .merge(truth[truth["cutoff"] == cutoff], on="account_id")
    )
    assert len(merged) == len(features)
    assert (merged["label"] == merged["churned"]).all()
