"""What the whole account book says about categories at a cutoff: the offer ranker's context.

Category popularity and momentum (overall, per segment, per region), which categories are
bought together or one after another, and what a purchase typically costs are facts about
the *population*, not about one account. They are computed once per cutoff from the full
book and passed to scoring as an explicit object, so that the API scoring one account from
its posted history gives exactly what the nightly run gives for the same history: a
one-account ``Tables`` would otherwise see a "population" of one.

The object saves to a single Parquet file (no pickle: the nightly job stores it next to its
feature snapshot and the API loads it at start-up).
"""

from __future__ import annotations

import json
from dataclasses import dataclass, fields
from pathlib import Path

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq

from kam_ml.data.tables import Tables, account_codes, sorted_for_features
from kam_ml.errors import DataContractError
from kam_ml.parquet import write_parquet
from kam_ml.problem.definition import ProblemDefinition
from kam_ml.problem.spine import active_account_positions

__all__ = ["PopulationStats", "label_positions", "population_stats"]

_FORMAT = 1
# a format key, not a module path: nights written before the package move carry it too
_METADATA_KEY = b"kam_ml.population"
# pseudo-counts that shrink small groups towards the level above them
_PRIOR_ACCOUNTS = 20.0
_PRIOR_LINES = 50.0
_PRIOR_TRANSITIONS = 10.0


@dataclass(frozen=True, eq=False)
class PopulationStats:
    """Population-level offer inputs at ``as_of`` (arrays are indexed by the tuples).

    popularity_*: share of the accounts active at ``as_of`` that bought the category in the
        last ``recent_days`` days: a base rate of "buys it within a horizon"; per segment,
        region and segment x region it is shrunk towards the level above.
    momentum_*: log of the category's share of order lines in the last ``recent_days`` days
        over its share in the last ``long_days`` days (> 0: gaining).
    typical_spend_*: median net amount of one order line of the category (last year).
    cooccurrence_lift[i, j]: P(bought j | bought i) / P(bought j) over the active accounts'
        last-year baskets (shrunk towards 1 for rare pairs); 1 on the diagonal.
    transition_lift[i, j]: P(next order line is j | this one is i) / P(j), across orders.
    similarity[i, j]: cosine similarity of categories i and j over the last-year baskets.
    """

    as_of: pd.Timestamp
    recent_days: int
    long_days: int
    active_accounts: int
    categories: tuple[str, ...]
    segments: tuple[str, ...]
    regions: tuple[str, ...]
    margin_rate: np.ndarray  # (C,)
    popularity_all: np.ndarray  # (C,)
    popularity_segment: np.ndarray  # (S, C)
    popularity_region: np.ndarray  # (R, C)
    popularity_segment_region: np.ndarray  # (S, R, C)
    momentum_all: np.ndarray  # (C,)
    momentum_segment: np.ndarray  # (S, C)
    momentum_region: np.ndarray  # (R, C)
    typical_spend_all: np.ndarray  # (C,)
    typical_spend_segment: np.ndarray  # (S, C)
    cooccurrence_lift: np.ndarray  # (C, C)
    transition_lift: np.ndarray  # (C, C)
    similarity: np.ndarray  # (C, C)

    # -- lookups (unknown segments / regions fall back to the overall row) ---------------
    def by_segment(self, name: str, segments: pd.Series) -> np.ndarray:
        """(accounts, C) rows of ``<name>_segment`` (popularity, momentum, typical_spend)."""
        table, overall = getattr(self, f"{name}_segment"), getattr(self, f"{name}_all")
        return _rows(table, overall, pd.Index(self.segments), segments)

    def by_region(self, name: str, regions: pd.Series) -> np.ndarray:
        """(accounts, C) rows of ``<name>_region`` (popularity, momentum)."""
        table, overall = getattr(self, f"{name}_region"), getattr(self, f"{name}_all")
        return _rows(table, overall, pd.Index(self.regions), regions)

    def segment_region_popularity(self, segments: pd.Series, regions: pd.Series) -> np.ndarray:
        """Cold-start base rates: segment x region, else segment, else region, else overall."""
        s = pd.Index(self.segments).get_indexer(pd.Series(segments).astype(str))
        r = pd.Index(self.regions).get_indexer(pd.Series(regions).astype(str))
        out = np.tile(self.popularity_all, (len(s), 1))
        only_s, only_r, both = (s >= 0) & (r < 0), (s < 0) & (r >= 0), (s >= 0) & (r >= 0)
        out[only_s] = self.popularity_segment[s[only_s]]
        out[only_r] = self.popularity_region[r[only_r]]
        out[both] = self.popularity_segment_region[s[both], r[both]]
        return out

    # -- serialisation ---------------------------------------------------------------
    def to_frame(self) -> pd.DataFrame:
        """Every array as long rows: ``field, key, subkey, category, value``."""
        frames = []
        for name, values in self._arrays().items():
            frames.append(_long(name, values, self._axes(name)))
        return pd.concat(frames, ignore_index=True)

    def to_parquet(self, path: Path) -> Path:
        """Write one Parquet file; the scalar fields and axis orders go in its metadata."""
        path = Path(path)
        path.parent.mkdir(parents=True, exist_ok=True)
        table = pa.Table.from_pandas(self.to_frame(), preserve_index=False)
        meta = {
            "format": _FORMAT,
            "as_of": str(self.as_of.date()),
            "recent_days": self.recent_days,
            "long_days": self.long_days,
            "active_accounts": self.active_accounts,
            "categories": list(self.categories),
            "segments": list(self.segments),
            "regions": list(self.regions),
        }
        table = table.replace_schema_metadata(
            (table.schema.metadata or {}) | {_METADATA_KEY: json.dumps(meta).encode()}
        )
        tmp = path.with_name(path.name + ".tmp")
        write_parquet(table, tmp)
        tmp.replace(path)
        return path

    @classmethod
    def from_parquet(cls, path: Path) -> PopulationStats:
        table = pq.read_table(Path(path))
        raw = (table.schema.metadata or {}).get(_METADATA_KEY)
        if raw is None:
            raise DataContractError(f"{path} is not a kam-ml population statistics file.")
        meta = json.loads(raw)
        if meta.get("format") != _FORMAT:
            raise DataContractError(
                f"{path} has population format {meta.get('format')!r}; this kam-ml reads "
                f"format {_FORMAT}."
            )
        frame = table.to_pandas()
        axes = {
            "category": pd.Index(meta["categories"]),
            "segment": pd.Index(meta["segments"]),
            "region": pd.Index(meta["regions"]),
        }
        stub = cls._shapes(len(axes["category"]), len(axes["segment"]), len(axes["region"]))
        arrays = {}
        for name, (shape, axis_names) in stub.items():
            rows = frame[frame["field"] == name]
            values = np.full(shape, np.nan)
            index = tuple(
                axes[axis].get_indexer(rows[column])
                for axis, column in zip(axis_names, _column_names(len(axis_names)), strict=True)
            )
            values[index] = rows["value"].to_numpy()
            arrays[name] = values
        return cls(
            as_of=pd.Timestamp(meta["as_of"]),
            recent_days=int(meta["recent_days"]),
            long_days=int(meta["long_days"]),
            active_accounts=int(meta["active_accounts"]),
            categories=tuple(meta["categories"]),
            segments=tuple(meta["segments"]),
            regions=tuple(meta["regions"]),
            **arrays,
        )

    def _arrays(self) -> dict[str, np.ndarray]:
        return {f.name: getattr(self, f.name) for f in fields(self) if f.name in _AXES}

    def _axes(self, name: str) -> list[tuple[str, ...]]:
        lookup = {"category": self.categories, "segment": self.segments, "region": self.regions}
        return [lookup[axis] for axis in _AXES[name]]

    @staticmethod
    def _shapes(c: int, s: int, r: int) -> dict[str, tuple[tuple[int, ...], tuple[str, ...]]]:
        size = {"category": c, "segment": s, "region": r}
        return {name: (tuple(size[a] for a in axes), axes) for name, axes in _AXES.items()}


# the axes of every array field, outermost first; the category axis is always last
_AXES: dict[str, tuple[str, ...]] = {
    "margin_rate": ("category",),
    "popularity_all": ("category",),
    "popularity_segment": ("segment", "category"),
    "popularity_region": ("region", "category"),
    "popularity_segment_region": ("segment", "region", "category"),
    "momentum_all": ("category",),
    "momentum_segment": ("segment", "category"),
    "momentum_region": ("region", "category"),
    "typical_spend_all": ("category",),
    "typical_spend_segment": ("segment", "category"),
    "cooccurrence_lift": ("category", "category"),
    "transition_lift": ("category", "category"),
    "similarity": ("category", "category"),
}
_COLUMNS = ("key", "subkey", "category")


def _column_names(n_axes: int) -> list[str]:
    """The last axis is always the category; leading axes fill key, then subkey."""
    return list(_COLUMNS[: n_axes - 1]) + ["category"]


def _long(name: str, values: np.ndarray, axes: list[tuple[str, ...]]) -> pd.DataFrame:
    grids = np.meshgrid(*[np.arange(len(a)) for a in axes], indexing="ij")
    columns = {"field": np.full(values.size, name, dtype=object)}
    names = _column_names(len(axes))
    for column in _COLUMNS:
        columns[column] = np.full(values.size, "", dtype=object)
    for column, axis, grid in zip(names, axes, grids, strict=True):
        columns[column] = np.asarray(axis, dtype=object)[grid.ravel()]
    columns["value"] = values.ravel().astype(np.float64)
    return pd.DataFrame(columns)


def _rows(
    table: np.ndarray, overall: np.ndarray, labels: pd.Index, values: pd.Series
) -> np.ndarray:
    index = labels.get_indexer(pd.Series(values).astype(str))
    padded = np.vstack([table, overall[None, :]])
    return padded[np.where(index >= 0, index, len(labels))]


# -- computing the statistics -----------------------------------------------------------
def population_stats(
    tables: Tables, as_of: pd.Timestamp, definition: ProblemDefinition
) -> PopulationStats:
    """The book's category statistics as known at the end of day ``as_of``.

    Uses only ``definition.history_at``; popularity counts the accounts active at ``as_of``
    (the scoring population), momentum and spend every known order line.
    """
    as_of = pd.Timestamp(as_of).normalize()
    history = sorted_for_features(definition.history_at(tables, as_of))
    categories = tuple(sorted(tables.categories["category"].astype(str)))
    segments = tuple(sorted(tables.accounts["segment"].astype(str).unique()))
    regions = tuple(sorted(tables.accounts["region"].astype(str).unique()))
    c, s, r = len(categories), len(segments), len(regions)

    orders = history.orders
    category = label_positions(categories, orders["category"])
    known = category >= 0
    codes = account_codes(orders).astype(np.int64)[known]
    category = category[known].astype(np.int64)
    age = definition.age_days(orders["order_date"], as_of)[known]
    amount = orders["amount"].to_numpy(dtype=np.float64)[known]
    dates = orders["order_date"].to_numpy(dtype="datetime64[ns]")[known]
    recent = age <= definition.horizon_days
    long = age <= definition.active_window_days

    segment_of = label_positions(segments, history.accounts["segment"])
    region_of = label_positions(regions, history.accounts["region"])
    active = active_account_positions(history, as_of, definition)
    is_active = np.zeros(history.n_accounts, dtype=bool)
    is_active[active] = True

    margin = (
        tables.categories.assign(category=tables.categories["category"].astype(str))
        .set_index("category")["margin_rate"]
        .reindex(list(categories))
        .fillna(1.0)
        .to_numpy(dtype=np.float64)
    )

    # popularity: share of active accounts that bought the category in the recent window
    bought_recent = _bought(codes[recent & is_active[codes]], category[recent & is_active[codes]])
    pop_all = np.bincount(bought_recent.to_numpy(), minlength=c) / max(len(active), 1)
    seg_buyers, seg_n = _by_group(bought_recent, active, segment_of, s, c)
    reg_buyers, reg_n = _by_group(bought_recent, active, region_of, r, c)
    pop_seg = (seg_buyers + _PRIOR_ACCOUNTS * pop_all) / (seg_n[:, None] + _PRIOR_ACCOUNTS)
    pop_reg = (reg_buyers + _PRIOR_ACCOUNTS * pop_all) / (reg_n[:, None] + _PRIOR_ACCOUNTS)
    pair_of = np.where((segment_of >= 0) & (region_of >= 0), segment_of * r + region_of, -1)
    sr_buyers, sr_n = _by_group(bought_recent, active, pair_of, s * r, c)
    prior = np.repeat(pop_seg, r, axis=0)  # segment x region shrinks towards its segment
    pop_sr = ((sr_buyers + _PRIOR_ACCOUNTS * prior) / (sr_n[:, None] + _PRIOR_ACCOUNTS)).reshape(
        s, r, c
    )

    # momentum: the recent share of order lines over the long-window share
    line_segment, line_region = segment_of[codes], region_of[codes]
    share_recent, share_long = _shares(category[recent], c), _shares(category[long], c)
    mom_all = np.log(share_recent / share_long)
    mom_seg = np.log(
        _group_shares(category, recent, line_segment, s, share_recent)
        / _group_shares(category, long, line_segment, s, share_long)
    )
    mom_reg = np.log(
        _group_shares(category, recent, line_region, r, share_recent)
        / _group_shares(category, long, line_region, r, share_long)
    )

    spend_all, spend_seg = _typical_spend(category[long], line_segment[long], amount[long], s, c)

    baskets = np.zeros((len(active), c))
    row_of = np.full(history.n_accounts, -1, dtype=np.int64)
    row_of[active] = np.arange(len(active))
    in_basket = long & (row_of[codes] >= 0)
    baskets[row_of[codes[in_basket]], category[in_basket]] = 1.0
    lift, similarity = _cooccurrence(baskets)
    by_time = _by_account_time_category(codes, dates, category)
    by_time = by_time[long[by_time]]
    transitions = _transition_lift(codes[by_time], dates[by_time], category[by_time], c)

    return PopulationStats(
        as_of=as_of,
        recent_days=definition.horizon_days,
        long_days=definition.active_window_days,
        active_accounts=len(active),
        categories=categories,
        segments=segments,
        regions=regions,
        margin_rate=margin,
        popularity_all=pop_all,
        popularity_segment=pop_seg,
        popularity_region=pop_reg,
        popularity_segment_region=pop_sr,
        momentum_all=mom_all,
        momentum_segment=mom_seg,
        momentum_region=mom_reg,
        typical_spend_all=spend_all,
        typical_spend_segment=spend_seg,
        cooccurrence_lift=lift,
        transition_lift=transitions,
        similarity=similarity,
    )


def label_positions(labels: tuple[str, ...], values: pd.Series) -> np.ndarray:
    """Position of each value's text in ``labels`` (-1 if absent), as
    ``pd.Index(labels).get_indexer(values.astype(str))`` gives.

    Order lines and accounts repeat a handful of categories, segments and regions millions
    of times; turning every cell into a Python string cost seconds per call at 1M accounts,
    so only the distinct values are converted and looked up (missing cells, which
    ``factorize`` leaves out, are converted as they are).
    """
    index = pd.Index(labels)
    codes, uniques = pd.factorize(values)
    found = index.get_indexer(pd.Series(uniques).astype(str))
    positions = found[codes] if len(found) else np.full(len(codes), -1, dtype=np.intp)
    missing = codes < 0
    if missing.any():
        positions[missing] = index.get_indexer(pd.Series(values)[missing].astype(str))
    return positions.astype(np.int64)


def _bought(codes: np.ndarray, category: np.ndarray) -> pd.Series:
    """Distinct (account, category) pairs, as a Series of account codes keyed by category."""
    pairs = pd.DataFrame({"account": codes, "category": category}).drop_duplicates()
    return pairs.set_index("account")["category"]


def _by_group(
    bought: pd.Series, active: np.ndarray, group_of: np.ndarray, n_groups: int, c: int
) -> tuple[np.ndarray, np.ndarray]:
    """Buyers per (group, category) and active accounts per group."""
    group = group_of[bought.index.to_numpy()]
    keep = group >= 0
    key = group[keep] * c + bought.to_numpy()[keep]
    buyers = np.bincount(key, minlength=n_groups * c).reshape(n_groups, c).astype(np.float64)
    active_groups = group_of[active]
    n = np.bincount(active_groups[active_groups >= 0], minlength=n_groups).astype(np.float64)
    return buyers, n


def _shares(category: np.ndarray, c: int) -> np.ndarray:
    """Each category's share of the lines (add-one smoothed, so never 0)."""
    counts = np.bincount(category, minlength=c).astype(np.float64)
    return (counts + 1.0) / (counts.sum() + c)


def _group_shares(
    category: np.ndarray,
    mask: np.ndarray,
    group: np.ndarray,
    n_groups: int,
    prior: np.ndarray,
) -> np.ndarray:
    """Per-group line shares, shrunk towards the overall ``prior`` shares."""
    c = len(prior)
    keep = mask & (group >= 0)
    counts = np.bincount(group[keep] * c + category[keep], minlength=n_groups * c)
    counts = counts.reshape(n_groups, c).astype(np.float64)
    return (counts + _PRIOR_LINES * prior) / (counts.sum(axis=1, keepdims=True) + _PRIOR_LINES)


def _typical_spend(
    category: np.ndarray, segment: np.ndarray, amount: np.ndarray, s: int, c: int
) -> tuple[np.ndarray, np.ndarray]:
    paid = amount > 0
    frame = pd.DataFrame(
        {"segment": segment[paid], "category": category[paid], "amount": amount[paid]}
    )
    overall_median = float(frame["amount"].median()) if len(frame) else 0.0
    by_category = frame.groupby("category")["amount"].median()
    spend_all = by_category.reindex(range(c)).fillna(overall_median).to_numpy(dtype=np.float64)
    by_pair = frame[frame["segment"] >= 0].groupby(["segment", "category"])["amount"].median()
    grid = pd.MultiIndex.from_product([range(s), range(c)])
    spend_seg = by_pair.reindex(grid).to_numpy(dtype=np.float64).reshape(s, c)
    spend_seg = np.where(np.isnan(spend_seg), spend_all[None, :], spend_seg)
    return spend_all, spend_seg


def _cooccurrence(baskets: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Lift (shrunk towards 1 for rare pairs) and cosine similarity of category baskets."""
    n = max(len(baskets), 1)
    together = baskets.T @ baskets
    buyers = np.diag(together).copy()
    expected = np.outer(buyers, buyers) / n
    lift = (together + 1.0) / (expected + 1.0)
    np.fill_diagonal(lift, 1.0)
    norm = np.sqrt(np.outer(buyers, buyers))
    with np.errstate(divide="ignore", invalid="ignore"):
        similarity = np.where(norm > 0, together / np.where(norm > 0, norm, 1.0), 0.0)
    return lift, similarity


def _by_account_time_category(
    codes: np.ndarray, dates: np.ndarray, category: np.ndarray
) -> np.ndarray:
    """``np.lexsort((category, dates, codes))`` (ties in an order: by category code) for lines
    already in (account, date) order, as ``sorted_for_features`` leaves them.

    Only the lines of one order (same account and timestamp) need reordering, so one stable
    sort of (order number, category) does it: a three-key lexsort of millions of lines cost
    most of the population statistics. Lines in any other order take the lexsort.
    """
    if len(codes) < 2:
        return np.arange(len(codes))
    code_step, date_step = np.diff(codes), np.diff(dates.view(np.int64))
    if not ((code_step > 0) | ((code_step == 0) & (date_step >= 0))).all():
        return np.lexsort((category, dates, codes))
    order_number = np.zeros(len(codes), dtype=np.int64)
    np.cumsum((code_step != 0) | (date_step != 0), out=order_number[1:])
    return np.argsort(order_number * (int(category.max()) + 1) + category, kind="stable")


def _transition_lift(
    codes: np.ndarray, dates: np.ndarray, category: np.ndarray, c: int
) -> np.ndarray:
    """How much likelier category j is to be the next order's line after a line of i.

    Lines come sorted by (account, date, category); a transition is a consecutive pair of
    lines of one account on different timestamps (the last line of one order, the first of
    the next).
    """
    step = np.zeros(len(codes), dtype=bool)
    if len(codes) > 1:
        step[1:] = (codes[1:] == codes[:-1]) & (dates[1:] > dates[:-1])
    nxt = np.flatnonzero(step)
    counts = np.bincount(category[nxt - 1] * c + category[nxt], minlength=c * c)
    counts = counts.reshape(c, c).astype(np.float64)
    marginal = (counts.sum(axis=0) + 1.0) / (counts.sum() + c)
    conditional = (counts + _PRIOR_TRANSITIONS * marginal) / (
        counts.sum(axis=1, keepdims=True) + _PRIOR_TRANSITIONS
    )
    return conditional / marginal
