"""One phrase per offer that a key account manager can say out loud.

The phrase names the strongest *fact* behind the offer, in this order: the account's own
habit in the category ("bought fine jewelry 4x last year, not since March"), what usually
follows its last order ("often bought after watches, its last purchase"), what goes with
what it buys ("often bought with handbags, which it buys"), an older habit, and for
accounts without such facts a regional trend ("handbags is gaining in APAC") or what
similar accounts buy ("bought lately by 31% of platinum accounts in APAC"). Facts, not
model internals: every phrase can be checked against the history.
"""

from __future__ import annotations

import calendar
from collections.abc import Mapping

import numpy as np
import pandas as pd

from kam_ml.data.contract import category_label

__all__ = ["offer_reasons"]

RECENTLY_DAYS = 45  # bought within this many days: "most recently in May", else "not since"
STRONG_HABIT_LINES = 2  # own purchases that outrank every other explanation
AFFINITY_LIFT = 1.15  # a lift below this is no reason to say "often bought with"
TRENDING_LOG_RATIO = 0.1  # recent over last-year share of the region's lines: +10%


def offer_reasons(offers: pd.DataFrame, labels: Mapping[str, str] | None = None) -> np.ndarray:
    """A reason phrase for each row of scored offer pairs (``kam_ml.offers.rules``).

    Categories are named by ``labels`` (the catalogue's ``label`` column), else by the code
    made readable ("ready_to_wear" -> "Ready to wear").

    The nightly run phrases millions of rows, so the rule that applies is chosen first
    (vectorised) and only that phrase is written for each row: writing all seven
    candidate phrases per row and ``strftime`` on every date cost most of the time.
    """
    if len(offers) == 0:
        return np.array([], dtype=object)
    n = len(offers)
    lines_year = offers["cat_lines_365d"].fillna(0).astype(int).to_numpy()
    lines_ever = offers["cat_lines_lifetime"].fillna(0).astype(int).to_numpy()
    days = offers["cat_days_since_last"]
    sequence_lift = np.exp(offers["sequence_affinity"].fillna(0.0)).to_numpy()
    cold = offers.get("cold_start", pd.Series(False, index=offers.index)).astype(bool).to_numpy()
    bought_year = lines_year > 0
    recent = (days < RECENTLY_DAYS).to_numpy(dtype=bool)
    strong = lines_year >= STRONG_HABIT_LINES
    follows = (
        (sequence_lift >= AFFINITY_LIFT) & offers["sequence_category"].notna().to_numpy() & ~cold
    )
    goes_with = (
        (offers["cooccurrence_max_lift"] >= AFFINITY_LIFT).to_numpy(dtype=bool)
        & offers["affinity_category"].notna().to_numpy()
        & ~cold
    )
    trending = (offers["cat_momentum_region"] >= TRENDING_LOG_RATIO).to_numpy(dtype=bool)
    # the first rule that holds names the phrase; "similar" when none does
    conditions = [
        (strong & ~recent, "habit_lapsed"),
        (strong & recent, "habit_recent"),
        (follows, "sequence"),
        (bought_year & ~recent, "habit_lapsed"),
        (bought_year & recent, "habit_recent"),
        (goes_with, "affinity"),
        (lines_ever > 0, "old_habit"),
        (trending, "trending"),
    ]
    kinds = ["habit_lapsed", "habit_recent", "sequence", "affinity", "old_habit", "trending"]
    code = {kind: i for i, kind in enumerate(kinds)}
    chosen = np.select(
        [c for c, _ in conditions], [code[kind] for _, kind in conditions], default=len(kinds)
    )

    phrases = np.empty(n, dtype=object)

    def rows(kind: str) -> np.ndarray:
        return np.flatnonzero(chosen == code[kind])

    given = dict(labels or {})

    def display(values: pd.Series) -> np.ndarray:
        codes = values.astype(str).tolist()
        # one label per distinct code, not per row; a list, not a Series.map: the API
        # phrases a handful of offers per pass, where pandas' fixed cost is the whole cost
        shown = {c: given.get(c) or category_label(c) for c in dict.fromkeys(codes)}
        return np.array([shown[c] for c in codes], dtype=object)

    def text(column: str, at: np.ndarray) -> np.ndarray:
        return display(offers[column].iloc[at])

    habit = np.flatnonzero(chosen <= code["habit_recent"])
    if len(habit):
        names, count = text("category", habit), lines_year[habit]
        month, year_month = _months(offers, days, habit)
        lapsed = chosen[habit] == code["habit_lapsed"]
        phrases[habit] = [
            f"bought {c} {x}x last year, " + (f"not since {m}" if lap else f"most recently in {m}")
            for c, x, m, lap in zip(names, count.tolist(), month, lapsed.tolist(), strict=True)
        ]
    at = rows("sequence")
    if len(at):
        after = display(offers["sequence_category"].iloc[at].fillna(""))
        phrases[at] = [f"often bought after {c}, its last purchase" for c in after]
    at = rows("affinity")
    if len(at):
        with_ = display(offers["affinity_category"].iloc[at].fillna(""))
        phrases[at] = [f"often bought with {c}, which it buys" for c in with_]
    at = rows("old_habit")
    if len(at):
        _, year_month = _months(offers, days, at)
        phrases[at] = [
            f"bought {c} before, not since {m}"
            for c, m in zip(text("category", at), year_month, strict=True)
        ]
    at = rows("trending")
    if len(at):
        regions = offers["region"].iloc[at].astype(str).to_numpy(dtype=object)
        phrases[at] = [
            f"{c} is gaining in {r}" for c, r in zip(text("category", at), regions, strict=True)
        ]
    at = np.flatnonzero(chosen == len(kinds))
    if len(at):
        share = (100 * offers["cat_popularity_segment_region"].iloc[at]).round().astype(int)
        segments = offers["segment"].iloc[at].astype(str).to_numpy(dtype=object)
        regions = offers["region"].iloc[at].astype(str).to_numpy(dtype=object)
        phrases[at] = [
            f"bought lately by {p}% of {s} accounts in {r}"
            for p, s, r in zip(share.astype(str).to_numpy(), segments, regions, strict=True)
        ]
    return phrases


def _months(offers: pd.DataFrame, days: pd.Series, at: np.ndarray) -> tuple[list[str], list[str]]:
    """The month of the last purchase for rows ``at``: "March" in the cutoff's year, else
    "March 2025", and always "March 2025". Month names come from ``calendar`` (the same
    locale as ``strftime("%B")``), formatted once per distinct month, not once per row."""
    cutoff = pd.to_datetime(offers["cutoff"].iloc[at]).reset_index(drop=True)
    last = cutoff - pd.to_timedelta(days.iloc[at].fillna(0).to_numpy(), unit="D")
    months = last.to_numpy(dtype="datetime64[M]").astype(np.int64)  # months since 1970-01
    cutoff_year = cutoff.to_numpy(dtype="datetime64[Y]").astype(np.int64)
    same_year = months // 12 == cutoff_year
    distinct, inverse = np.unique(months, return_inverse=True)
    names = [calendar.month_name[m % 12 + 1] for m in distinct.tolist()]
    labels = [f"{name} {m // 12 + 1970}" for name, m in zip(names, distinct.tolist(), strict=True)]
    name_of = np.asarray(names, dtype=object)[inverse]
    label_of = np.asarray(labels, dtype=object)[inverse]
    return np.where(same_year, name_of, label_of).tolist(), label_of.tolist()
