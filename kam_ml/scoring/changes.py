"""What changed since the previous night, in words and as data.

"Since 2026-10-24: risk +12 pts (medium → high) — no order for 95 days (was 40); 2
complaints in the last 90 days (was 1)". The entries are the features whose contribution to
the churn log-odds moved most between the two nights' attributions, in the direction the
risk moved, *among the features whose value changed* (NaN on both nights, or a difference
of float noise, is no change). Context features (tenure, days since the first order,
region, segment) grow or stay by construction and are never named. A risk that moved by
less than half a point (shown as "+0 pts" it would round away) reads "Since 2026-10-24:
risk unchanged" and names no feature: a feature named next to "unchanged" would say it
moved the risk when the page shows it did not.

An account the previous night did not score is "new on the list"; with no previous night
at all nothing is said. Everything numeric is numpy over the whole book; phrases are
written once per distinct (feature, value) and then gathered, because on nights a day
apart nearly every account's recency changed; the sentences are assembled over all
accounts at once (object-array additions), not account by account.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd

from kam_ml.features import FEATURES
from kam_ml.features.registry import FeatureSpec

__all__ = ["CHANGE_FIELDS", "Changes", "PreviousNight", "what_changed"]

CHANGE_FIELDS = ("feature", "previous_value", "value", "contribution_change", "text")
_N_CHANGES = 2
# a contribution that moved less than this (log-odds) is not worth a manager's words
_MIN_MOVE = 0.01
# a risk change under half a point reads "risk unchanged", naming no feature
_MIN_POINTS = 0.5
_RTOL, _ATOL = 1e-9, 1e-9
_TREND = "revenue_trend_90d"
_PREVIOUS_90 = " on the previous 90 days"


@dataclass(frozen=True, eq=False)
class PreviousNight:
    """The night tonight is compared with: its as-of date, its scores (``account_id``,
    ``churn_probability``, ``risk_band`` and optionally ``churn_model_version``), its feature
    rows (with ``account_id``) and its contributions, row-aligned with ``scores``."""

    as_of: str
    scores: pd.DataFrame
    features: pd.DataFrame
    contributions: pd.DataFrame


@dataclass(frozen=True)
class Changes:
    """Per account (in the order scored): the previous night's probability and band (NaN /
    None when new or without a previous night), whether it is new on the list, its change
    entries (dicts with ``CHANGE_FIELDS``) and the sentence ("" when there is nothing to say).
    """

    compared_with: str | None
    previous_probability: np.ndarray
    previous_band: np.ndarray
    new_on_list: np.ndarray
    entries: list[list[dict[str, Any]]]
    texts: list[str]


def what_changed(
    account_ids: np.ndarray,
    probability: np.ndarray,
    band: np.ndarray,
    features: pd.DataFrame,
    contributions: pd.DataFrame,
    previous: PreviousNight | None,
    model_version: np.ndarray | None = None,
) -> Changes:
    """The change of every scored account since ``previous``; ``features`` and
    ``contributions`` are row-aligned with ``account_ids``; ``model_version`` is tonight's
    churn model version per row (to say when only the model changed)."""
    n = len(account_ids)
    previous_probability = np.full(n, np.nan)
    previous_band = np.full(n, None, dtype=object)
    if previous is None or n == 0:
        return Changes(
            None, previous_probability, previous_band, np.zeros(n, dtype=bool),
            [[] for _ in range(n)], [""] * n,
        )  # fmt: skip
    ids = pd.Index(account_ids)
    position = pd.Index(previous.scores["account_id"]).get_indexer(ids)
    known = position >= 0
    at = position[known]
    previous_probability[known] = previous.scores["churn_probability"].to_numpy(dtype=float)[at]
    previous_band[known] = previous.scores["risk_band"].to_numpy(dtype=object)[at]

    names = [
        name
        for name in contributions.columns
        if _nameable(name)
        and name in previous.contributions
        and name in features
        and name in previous.features
    ]
    rows = np.flatnonzero(known)
    feature_at = pd.Index(previous.features["account_id"]).get_indexer(ids[known])
    if (feature_at < 0).any():  # a night scores exactly its feature rows; say so if not
        raise ValueError(
            f"The previous night ({previous.as_of}) has scores but no feature row for "
            f"{int((feature_at < 0).sum()):,} of its accounts."
        )
    now = features[names].to_numpy(dtype=float)[rows]
    old = previous.features[names].to_numpy(dtype=float)[feature_at]
    changed = ~np.isclose(now, old, rtol=_RTOL, atol=_ATOL, equal_nan=True)
    delta = (
        contributions[names].to_numpy(dtype=float)[rows]
        - previous.contributions[names].to_numpy(dtype=float)[at]
    )
    points = (probability[rows] - previous_probability[rows]) * 100
    # a risk that moved less than the display threshold reads "risk unchanged": no feature
    # is named for a move the page does not show
    way = np.where(np.abs(points) < _MIN_POINTS, 0.0, np.sign(points))[:, None]
    score = np.where(changed & (way != 0), delta * way, -np.inf)
    order = np.argsort(-score, axis=1, kind="stable")[:, :_N_CHANGES]
    keep = np.take_along_axis(score, order, axis=1) >= _MIN_MOVE
    counts = keep.sum(axis=1)
    entry_rows = np.repeat(np.arange(len(rows)), counts)  # positions within ``rows``
    entry_cols = order[keep]
    new_values, old_values = now[entry_rows, entry_cols], old[entry_rows, entry_cols]
    moves = delta[entry_rows, entry_cols]
    texts = _entry_texts(names, entry_cols, new_values, old_values)

    entries: list[list[dict[str, Any]]] = [[] for _ in range(n)]
    flat = [
        dict(zip(CHANGE_FIELDS, e, strict=True))
        for e in zip(
            [names[j] for j in entry_cols.tolist()],
            _nullable(old_values),
            _nullable(new_values),
            np.round(moves, 6).tolist(),
            texts,
            strict=True,
        )
    ]
    ends = np.cumsum(counts)
    starts = ends - counts
    for k, a, b in zip(
        np.flatnonzero(counts).tolist(),
        starts[counts > 0].tolist(),
        ends[counts > 0].tolist(),
        strict=True,
    ):
        entries[rows[k]] = flat[a:b]

    day = previous.as_of
    sentences = np.full(n, f"New on the list (not on the list of {day})", dtype=object)
    sentences[rows] = _sentences(
        f"Since {day}: ",
        _risk_words(points, band[rows], previous_band[rows]),
        _joined(texts, starts, counts),
        np.abs(points) < _MIN_POINTS,
        changed.any(axis=1),
        _model_changed(previous, position, known, model_version),
    )
    return Changes(day, previous_probability, previous_band, ~known, entries, sentences.tolist())


def _joined(texts: list[str], starts: np.ndarray, counts: np.ndarray) -> np.ndarray:
    """Per account, its entries' texts joined ("no order for 95 days (was 40); ..."), first
    letters lowered; "" without entries. Built entry position by entry position over all
    accounts at once (object-array additions), the lowering once per distinct text."""
    codes, distinct = pd.factorize(np.asarray(texts, dtype=object))
    lowered = np.asarray([_lower_first(t) for t in distinct.tolist()] + [""], dtype=object)
    codes = np.asarray(codes)
    joined = np.full(len(counts), "", dtype=object)
    for j in range(int(counts.max(initial=0))):
        has = counts > j
        words = lowered[codes[starts[has] + j]]
        joined[has] = words if j == 0 else joined[has] + "; " + words
    return joined


def _sentences(
    head: str,
    risk: np.ndarray,
    joined: np.ndarray,
    small: np.ndarray,
    values_changed: np.ndarray,
    model_changed: np.ndarray,
) -> np.ndarray:
    """The sentence of each account the previous night scored: "risk unchanged" alone (with
    its band change, if any) for a risk that moved under the display threshold; else the
    risk's move and its entries, or why no feature is named."""
    named = joined != ""
    out = np.where(
        values_changed,
        " — small changes across its figures",
        np.where(model_changed, " — none of its figures changed; the churn model was updated",
                 " — none of its figures changed"),
    ).astype(object)  # fmt: skip
    out[named] = " — " + joined[named]
    out = head + risk + out
    out[small] = head + risk[small]
    return out


def _nameable(name: str) -> bool:
    spec = FEATURES.get(name)
    return (
        spec is not None and not spec.context and not spec.categorical and spec.phrases is not None
    )


def _entry_texts(
    names: list[str],
    cols: np.ndarray,
    new: np.ndarray,
    old: np.ndarray,
) -> list[str]:
    """ "No order for 95 days (was 40)" per entry: the reason phrase for the new value,
    worded for the way it moved, and the old value. Written once per distinct
    (feature, value, side) and once per distinct (feature, old value)."""
    texts = np.empty(len(cols), dtype=object)
    for j in np.unique(cols).tolist():
        spec = FEATURES[names[j]]
        at = np.flatnonzero(cols == j)
        # the side the value moved to picks the wording: "Spent 4,930 ... (was 373)",
        # "Spent only 373 ... (was 4,930)"
        # with no old value ("none before") nothing moved down: the plain wording, never
        # "Average NPS only 10.0 of 10 (none before)"
        with np.errstate(invalid="ignore"):
            high = (new[at] > old[at]) | np.isnan(old[at])
        # np.unique on (value, side) pairs; a missing value as +inf, so it has one key
        pairs, inverse = np.unique(np.c_[_keyed(new[at]), high], axis=0, return_inverse=True)
        said = [_say(spec, v, bool(h)) for v, h in pairs.tolist()]
        olds, old_inverse = np.unique(_keyed(old[at]), return_inverse=True)
        was = [_was(spec, v) for v in olds.tolist()]
        texts[at] = [
            f"{said[a]} ({was[b]})"
            for a, b in zip(inverse.ravel().tolist(), old_inverse.ravel().tolist(), strict=True)
        ]
    return list(texts)


def _keyed(values: np.ndarray) -> np.ndarray:
    return np.where(np.isnan(values), np.inf, values)


def _say(spec: FeatureSpec, value: float, high: bool) -> str:
    if value == np.inf:
        if spec.phrases is not None and spec.phrases.missing is not None:
            return spec.phrases.missing
        return f"{spec.description}: none now"
    if spec.name == _TREND:
        return _trend(value).capitalize()
    # no row: the change quotes the feature's own value ("usually every 40" would read
    # as the old value next to "(was ...)")
    return spec.phrase("high" if high else "low", value, {})


def _was(spec: FeatureSpec, value: float) -> str:
    if value == np.inf:
        return "none before"
    if spec.name == _TREND:
        return f"was {_trend(value).removeprefix('spending ').removesuffix(_PREVIOUS_90)}"
    return f"was {format(value, spec.fmt)}"


def _trend(value: float) -> str:
    """The spending trend (log1p(last 90 days) - log1p(the 90 before)) in words; a rise
    from next to nothing is "more than tenfold", not "up 53,279%"."""
    change = float(np.expm1(value))
    if abs(change) < 0.005:
        return f"spending level{_PREVIOUS_90}"
    if change >= 9:
        return f"spending up more than tenfold{_PREVIOUS_90}"
    return f"spending {'up' if change > 0 else 'down'} {abs(change):.0%}{_PREVIOUS_90}"


def _risk_words(points: np.ndarray, band: np.ndarray, before: np.ndarray) -> np.ndarray:
    """ "risk +12 pts (medium → high)", "risk -3 pts", "risk unchanged": written once per
    distinct (points shown, band, band before) and gathered."""
    small = np.abs(points) < _MIN_POINTS
    shown = np.where(small, 0.0, np.rint(points))
    parts = [pd.factorize(np.asarray(a, dtype=object)) for a in (shown, band, before)]
    key = np.zeros(len(points), dtype=np.int64)
    for codes, distinct in parts:
        key = key * (len(distinct) + 1) + codes + 1  # None: code -1
    key = key * 2 + small
    _, first, inverse = np.unique(key, return_index=True, return_inverse=True)
    words = []
    for k in first.tolist():
        p, now, was = float(shown[k]), band[k], before[k]
        text = "risk unchanged" if small[k] else f"risk {p:+.0f} {'pt' if abs(p) == 1 else 'pts'}"
        words.append(f"{text} ({was} → {now})" if now != was else text)
    return np.asarray(words, dtype=object)[inverse.ravel()]


def _model_changed(
    previous: PreviousNight,
    position: np.ndarray,
    known: np.ndarray,
    model_version: np.ndarray | None,
) -> np.ndarray:
    rows = int(known.sum())
    if model_version is None or "churn_model_version" not in previous.scores:
        return np.zeros(rows, dtype=bool)
    before = previous.scores["churn_model_version"].astype(object).to_numpy()[position[known]]
    return np.asarray(
        [str(a) != str(b) for a, b in zip(before, np.asarray(model_version)[known], strict=True)]
    )


def _lower_first(text: str) -> str:
    """ "No order for 95 days" -> "no order for 95 days"; "NPS 3 of 10" stays."""
    if len(text) > 1 and text[0].isupper() and text[1].islower():
        return text[0].lower() + text[1:]
    return text


def _nullable(values: np.ndarray) -> list[float | None]:
    return [None if v != v else round(v, 6) for v in values.tolist()]
