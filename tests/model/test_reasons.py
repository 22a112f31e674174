"""Reasons a manager can trust, over every account of two books with opposite stories.

The demo book's churn is caused by what the history shows (complaints, returns, falling
orders); the BTYD book's only by purchase timing. On both, no shown reason contradicts its
value and no context feature is a reason; a planted cause is named; every "what changed"
entry names a feature whose value changed since the night compared with.
"""

from __future__ import annotations

import dataclasses
import re

import numpy as np
import pandas as pd
import pytest

from kam_ml.churn.training import train_churn
from kam_ml.data.tables import Tables
from kam_ml.data.validation import validate_tables
from kam_ml.demo.btyd_book import generate_btyd_book
from kam_ml.features import FEATURES, build_features
from kam_ml.problem.definition import ProblemDefinition
from kam_ml.registry.bundle import ModelBundle
from kam_ml.registry.champions import ScoringModels
from kam_ml.scoring.changes import PreviousNight
from kam_ml.scoring.explained import explained_scores
from kam_ml.scoring.score import Scored, score_features

COMPLAINT = {"complaints_90d", "complaints_365d", "days_since_last_complaint"}
RECENCY = {"days_since_last_order", "overdue_ratio"}


@dataclasses.dataclass(frozen=True)
class ScoredBook:
    tables: Tables
    as_of: pd.Timestamp
    models: ScoringModels
    scored: Scored


def _scored_book(tables: Tables, as_of: pd.Timestamp) -> ScoredBook:
    result = train_churn(tables, as_of, ProblemDefinition())
    bundle = ModelBundle(
        model=result.model,
        model_name="kam-churn",
        version="test",
        feature_names=result.feature_names,
        definition=result.definition,
        training_cutoffs=[],
        validation_cutoffs=[],
        metrics={},
    )
    models = ScoringModels(churn=bundle)
    scored = score_features(build_features(tables, as_of, bundle.definition), models)
    return ScoredBook(tables, as_of, models, scored)


@pytest.fixture(scope="module")
def demo_book(demo_tables, demo_as_of) -> ScoredBook:
    return _scored_book(demo_tables, demo_as_of)


@pytest.fixture(scope="module")
def btyd_book() -> ScoredBook:
    demo = generate_btyd_book(1500, seed=3)
    raw = {n: getattr(demo, n) for n in ("accounts", "orders", "interactions", "categories")}
    tables = validate_tables(raw, on_bad_rows="refuse").tables
    return _scored_book(tables, tables.last_date())


@pytest.fixture(params=["demo", "btyd"])
def any_book(request) -> ScoredBook:
    return request.getfixturevalue(f"{request.param}_book")


def test_no_shown_reason_contradicts_its_value(any_book):
    details = [d for row in any_book.scored.scores["reason_details"] for d in row]
    assert len(details) > 1000
    for d in details:
        spec = FEATURES[d["feature"]]
        assert d["contribution"] > 0, d
        if d["value"] is None:  # one order so far: missing is the risky end
            assert spec.missing_is_riskiest, d
            continue
        if d["direction"] == "high":
            assert d["value"] > d["peer_low_risk"], d
        else:
            assert d["direction"] == "low" and d["value"] < d["peer_low_risk"], d
        if spec.churn_direction:  # the risky side is the side the business knows
            assert (d["direction"] == "high") == (spec.churn_direction > 0), d


def test_no_context_feature_is_a_reason(any_book):
    shown = {d["feature"] for row in any_book.scored.scores["reason_details"] for d in row}
    assert shown and not shown & {n for n, s in FEATURES.items() if s.context}


def test_reasons_read_as_a_person_would_write_them(any_book):
    scores = any_book.scored.scores
    texts = [t for row in scores["reasons"] for t in row]
    for bad in (r"\(s\)", r"\b0 orders?\b", r"trend [+-]", r"\b0\.0x", r"[{}]", r"\bnan\b"):
        assert not [t for t in texts if re.search(bad, t)], bad
    assert [list(r) for r in scores["reasons"]] == [
        [d["text"] for d in row] for row in scores["reason_details"]
    ]
    high = scores[scores["risk_band"] == "high"]
    assert high["reasons"].map(len).ge(1).all()


def _accounts(book: ScoredBook, n: int, seed: int) -> np.ndarray:
    ids = book.scored.scores["account_id"].to_numpy(dtype=object)
    return np.random.default_rng(seed).choice(ids, n, replace=False)


def _features(book: ScoredBook) -> pd.DataFrame:
    features = build_features(book.tables, book.as_of, book.models.churn.definition)
    return features.set_index("account_id")


def _rescored(book: ScoredBook, tables: Tables, ids: np.ndarray) -> pd.DataFrame:
    features = build_features(tables, book.as_of, book.models.churn.definition)
    scores = score_features(features, book.models, peers=book.scored.peers).scores
    scores = scores.set_index("account_id")
    return scores.loc[[i for i in ids if i in scores.index]]


def test_three_complaints_in_the_last_30_days_are_named(demo_book, seed):
    book = demo_book
    ids = _accounts(book, 100, seed)
    interactions = book.tables.interactions
    days = [3, 12, 25]
    planted = pd.DataFrame(
        {
            "account_id": pd.Categorical(
                np.repeat(ids, len(days)), categories=interactions["account_id"].cat.categories
            ),
            "event_date": np.tile([book.as_of - pd.Timedelta(days=d) for d in days], len(ids)),
            "event_type": "complaint",
            "value": np.nan,
        }
    )[interactions.columns]
    tables = dataclasses.replace(
        book.tables, interactions=pd.concat([interactions, planted], ignore_index=True)
    )
    scores = _rescored(book, tables, ids)
    assert len(scores) == len(ids)
    named = scores["reason_details"].map(lambda row: any(d["feature"] in COMPLAINT for d in row))
    # An account silent for most of a year can have three stronger reasons than the
    # complaints (no order for 256 days, 15x overdue, 8 fewer orders); every account that
    # still orders names them.
    ordering = _features(book).loc[scores.index, "days_since_last_order"] <= 90
    assert ordering.sum() > 30
    assert named[ordering].all(), scores.loc[ordering & ~named, "reasons"].head().tolist()
    assert named.mean() >= 0.95


@pytest.mark.parametrize("which", ["demo", "btyd"])
def test_orders_that_stop_are_named_by_a_recency_reason(request, which, seed):
    book = request.getfixturevalue(f"{which}_book")
    ids = _accounts(book, 100, seed)
    orders = book.tables.orders
    stopped = orders["account_id"].astype(str).isin(ids) & (
        orders["order_date"] > book.as_of - pd.Timedelta(days=150)
    )
    tables = dataclasses.replace(book.tables, orders=orders[~stopped].reset_index(drop=True))
    scores = _rescored(book, tables, ids)
    assert len(scores) > 50  # the others had no order in the 215 days before either
    named = scores["reason_details"].map(lambda row: any(d["feature"] in RECENCY for d in row))
    assert named.all(), scores.loc[~named, "reasons"].head().tolist()


def _night(book: ScoredBook, tables: Tables, as_of: pd.Timestamp) -> tuple[pd.DataFrame, Scored]:
    features = build_features(tables, as_of, book.models.churn.definition)
    return features, score_features(features, book.models)


def _previous_night(
    book: ScoredBook, days: int, tables: Tables | None = None, drop: np.ndarray | None = None
) -> PreviousNight:
    """The night ``days`` before the book's as-of, as the next night reads it; the accounts
    in ``drop`` left out (as if they had not been scored then)."""
    as_of = book.as_of - pd.Timedelta(days=days)
    features, scored = _night(book, tables or book.tables, as_of)
    keep = ~features["account_id"].astype(str).isin([] if drop is None else drop).to_numpy()
    columns = ["account_id", "churn_probability", "risk_band"]
    return PreviousNight(
        as_of=str(as_of.date()),
        scores=scored.scores.loc[keep, columns].reset_index(drop=True),
        features=features.loc[keep].reset_index(drop=True),
        contributions=scored.contributions.loc[keep].reset_index(drop=True),
    )


def _explained(book: ScoredBook, previous: PreviousNight | None) -> pd.DataFrame:
    features = build_features(book.tables, book.as_of, book.models.churn.definition)
    return explained_scores(book.scored, features, book.tables.accounts, previous=previous)


def _same(a: object, b: float) -> bool:
    if a is None:
        return bool(np.isnan(b))
    return bool(np.isclose(float(a), b, rtol=1e-6, atol=1e-6))  # type: ignore[arg-type]


def test_every_what_changed_entry_names_a_feature_whose_value_changed(any_book):
    new_ids = _accounts(any_book, 20, seed=5)
    previous = _previous_night(any_book, days=7, drop=new_ids)
    explained = _explained(any_book, previous)
    before = previous.features.set_index("account_id")
    now = _features(any_book)
    context = {n for n, s in FEATURES.items() if s.context}
    entries = 0
    for account, changes in zip(explained["account_id"], explained["changes"], strict=True):
        for c in changes:
            assert c["feature"] not in context, c
            old = float(before.at[account, c["feature"]])
            new = float(now.at[account, c["feature"]])
            assert _same(c["previous_value"], old) and _same(c["value"], new), c
            assert not (np.isnan(old) and np.isnan(new)), c
            assert np.isnan(old) != np.isnan(new) or not np.isclose(old, new), c
            entries += 1
    assert entries > 500
    new = explained["new_on_list"].to_numpy()
    assert (new == ~explained["account_id"].isin(previous.scores["account_id"])).all()
    assert set(new_ids) <= set(explained.loc[new, "account_id"])
    assert explained.loc[new, "changes"].map(len).eq(0).all()
    assert explained.loc[new, "what_changed"].str.startswith("New on the list").all()
    assert explained.loc[~new, "what_changed"].str.startswith(f"Since {previous.as_of}: ").all()
    assert explained["compared_with"].eq(previous.as_of).all()
    # a risk that moved under half a point reads "risk unchanged" and names no feature
    unchanged = ~new & (explained["probability_change"].abs() * 100 < 0.5).to_numpy()
    assert unchanged.sum() > 10
    assert explained.loc[unchanged, "changes"].map(len).eq(0).all()
    said = explained.loc[unchanged, "what_changed"]
    assert said.str.fullmatch(rf"Since {previous.as_of}: risk unchanged( \(\w+ → \w+\))?").all()
    assert not explained.loc[~unchanged, "what_changed"].str.contains("unchanged").any()
    assert [[c["text"] for c in row] for row in explained["changes"]] == [
        list(m) for m in explained["moved_by"]
    ]


def test_an_account_whose_values_did_not_change_has_no_change_entries(demo_book):
    features, scored = (
        build_features(demo_book.tables, demo_book.as_of, demo_book.models.churn.definition),
        demo_book.scored,
    )
    columns = ["account_id", "churn_probability", "risk_band"]
    same = PreviousNight("2026-10-30", scored.scores[columns], features, scored.contributions)
    explained = _explained(demo_book, same)
    assert explained["changes"].map(len).eq(0).all()
    assert explained["what_changed"].eq("Since 2026-10-30: risk unchanged").all()
    assert not explained["new_on_list"].any()


def test_without_a_previous_night_nothing_is_said(demo_book):
    explained = _explained(demo_book, None)
    assert explained["changes"].map(len).eq(0).all()
    assert explained["what_changed"].eq("").all()
    assert not explained["new_on_list"].any()
    assert explained["compared_with"].isna().all()


@pytest.mark.parametrize("which", ["demo", "btyd"])
def test_orders_that_stop_between_two_nights_are_named_as_a_change_in_recency(request, which, seed):
    """The previous night 90 days back; since then, 100 accounts that had just ordered
    stopped. Their risk rose, and what changed names how long they have not ordered."""
    book = request.getfixturevalue(f"{which}_book")
    before = book.as_of - pd.Timedelta(days=90)
    features, _ = _night(book, book.tables, before)
    recent = features.loc[features["days_since_last_order"] <= 20, "account_id"].astype(str)
    ids = np.random.default_rng(seed).choice(recent.to_numpy(), 100, replace=False)
    orders = book.tables.orders
    stopped = orders["account_id"].astype(str).isin(ids) & (orders["order_date"] > before)
    tables = dataclasses.replace(book.tables, orders=orders[~stopped].reset_index(drop=True))
    previous = _previous_night(book, days=90)
    tonight, scored = _night(book, tables, book.as_of)
    explained = explained_scores(scored, tonight, tables.accounts, previous=previous)
    rows = explained.set_index("account_id")
    rows = rows.loc[rows.index.intersection(ids)]  # a few are no longer active
    rose = rows["probability_change"] > 0.05
    assert rose.sum() > 50
    named = rows.loc[rose, "changes"].map(lambda row: any(c["feature"] in RECENCY for c in row))
    assert named.mean() >= 0.9, rows.loc[rose & ~named, "what_changed"].head().tolist()
    assert rows.loc[rose, "what_changed"].str.contains(r"risk \+\d+ pts").all()
