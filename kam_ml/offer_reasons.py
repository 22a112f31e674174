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

import numpy as np
import pandas as pd

__all__ = ["offer_reasons"]

RECENTLY_DAYS = 45  # bought within this many days: "most recently in May", else "not since"
STRONG_HABIT_LINES = 2  # own purchases that outrank every other explanation
AFFINITY_LIFT = 1.15  # a lift below this is no reason to say "often bought with"
TRENDING_LOG_RATIO = 0.1  # recent over last-year share of the region's lines: +10%


def offer_reasons(offers: pd.DataFrame) -> np.ndarray:
    """A reason phrase for each row of scored offer pairs (``kam_ml.offer_rules``)."""
    if len(offers) == 0:
        return np.array([], dtype=object)
    name = _display(offers["category"])
    lines_year = offers["cat_lines_365d"].fillna(0).astype(int)
    lines_ever = offers["cat_lines_lifetime"].fillna(0).astype(int)
    days = offers["cat_days_since_last"]
    cutoff = pd.to_datetime(offers["cutoff"])
    last = cutoff - pd.to_timedelta(days.fillna(0), unit="D")
    same_year = last.dt.year == cutoff.dt.year
    month = last.dt.strftime("%B").where(same_year, last.dt.strftime("%B %Y"))
    month_year = last.dt.strftime("%B %Y")

    sequence_lift = np.exp(offers["sequence_affinity"].fillna(0.0))
    cold = offers.get("cold_start", pd.Series(False, index=offers.index)).astype(bool)
    habit = "bought " + name + " " + lines_year.astype(str) + "x last year"
    phrases = {
        "habit_lapsed": habit + ", not since " + month,
        "habit_recent": habit + ", most recently in " + month,
        "sequence": "often bought after "
        + _display(offers["sequence_category"].fillna(""))
        + ", its last purchase",
        "affinity": "often bought with "
        + _display(offers["affinity_category"].fillna(""))
        + ", which it buys",
        "old_habit": "bought " + name + " before, not since " + month_year,
        "trending": name + " is gaining in " + offers["region"].astype(str),
        "similar": "bought lately by "
        + (100 * offers["cat_popularity_segment_region"]).round().astype(int).astype(str)
        + "% of "
        + offers["segment"].astype(str)
        + " accounts in "
        + offers["region"].astype(str),
    }
    bought_year = lines_year > 0
    recent = days < RECENTLY_DAYS
    strong = lines_year >= STRONG_HABIT_LINES
    follows = (sequence_lift >= AFFINITY_LIFT) & offers["sequence_category"].notna() & ~cold
    goes_with = (
        (offers["cooccurrence_max_lift"] >= AFFINITY_LIFT)
        & offers["affinity_category"].notna()
        & ~cold
    )
    conditions = [
        (strong & ~recent, "habit_lapsed"),
        (strong & recent, "habit_recent"),
        (follows, "sequence"),
        (bought_year & ~recent, "habit_lapsed"),
        (bought_year & recent, "habit_recent"),
        (goes_with, "affinity"),
        (lines_ever > 0, "old_habit"),
        (offers["cat_momentum_region"] >= TRENDING_LOG_RATIO, "trending"),
    ]
    chosen = np.select(
        [c.to_numpy(dtype=bool) for c, _ in conditions],
        [phrases[key].to_numpy(dtype=object) for _, key in conditions],
        default=phrases["similar"].to_numpy(dtype=object),
    )
    return chosen.astype(object)


def _display(category: pd.Series) -> pd.Series:
    return category.astype(str).str.replace("_", " ", regex=False)
