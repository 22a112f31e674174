"""Each scored account's offer short list: pairs -> ranker -> business rules -> top k -> reasons.

``recommend_offers`` is the one entry the scoring path calls: it builds the offer pairs of
the accounts it is given (with the book's population statistics) and ranks them.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import numpy as np
import pandas as pd

from kam_ml.data.contract import category_label
from kam_ml.data.tables import Tables, sorted_for_features
from kam_ml.errors import ScoringInputError
from kam_ml.evaluation.ranking import _check_k
from kam_ml.offers.pairs import build_offer_pairs
from kam_ml.offers.population import PopulationStats, population_stats
from kam_ml.offers.reasons import offer_reasons
from kam_ml.offers.rules import OfferRules, apply_offer_rules
from kam_ml.registry.bundle import ModelBundle

__all__ = ["OFFER_COLUMNS", "catalogue_labels", "recommend_offers"]

# ``offers`` are the catalogue codes the CRM matches on; ``offer_labels`` name them for people
OFFER_COLUMNS = ("offers", "offer_labels", "offer_scores", "offer_reasons")
_QUERY = ["cutoff", "account_id"]


def recommend_offers(
    bundle: ModelBundle,
    tables: Tables,
    features: pd.DataFrame,
    *,
    rules: OfferRules,
    k: int,
    population: PopulationStats | None = None,
) -> pd.DataFrame:
    """The ``OFFER_COLUMNS`` (lists, best first) of every row of ``features``, aligned with
    them (index 0..n-1).

    ``features``: the ``build_features`` rows of the accounts to offer to, all at one
    cutoff; ``tables``: the history they were built from (offers are ranked from the
    accounts' order lines). ``population``: the book's category statistics at that cutoff;
    None computes them from ``tables``, which is right only when ``tables`` is the book.
    """
    _check_k(k)
    cutoffs = pd.unique(features["cutoff"])
    if len(cutoffs) != 1:
        raise ScoringInputError(f"Offers are scored at one date; the features hold {len(cutoffs)}.")
    as_of = pd.Timestamp(cutoffs[0])
    definition = bundle.definition
    # population_stats and build_offer_pairs each sort and encode the order lines they get;
    # given them once sorted, both find them in order and skip it (seconds at 20M lines)
    tables = sorted_for_features(tables)
    if population is None:
        population = population_stats(tables, as_of, definition)
    pairs = build_offer_pairs(
        tables,
        as_of,
        definition,
        population=population,
        account_features=features,
        # the generator the model was trained with; bundles from before it ranked them all
        candidates=bundle.extra.get("candidates"),
    )
    labels = catalogue_labels(tables.categories)
    lists = _short_lists(bundle.model, bundle.feature_names, pairs, rules, k, labels)
    aligned = lists.set_index("account_id").reindex(features["account_id"].to_numpy())
    return pd.DataFrame(
        {c: aligned[c].to_numpy(dtype=object) for c in OFFER_COLUMNS}, index=range(len(features))
    )


def catalogue_labels(categories: pd.DataFrame) -> dict[str, str]:
    """Category code -> the name a manager reads: the catalogue's ``label``, else the code
    made readable (catalogues stored before labels existed have no ``label`` column)."""
    codes = categories["category"].astype(str)
    given = categories["label"] if "label" in categories else pd.Series(None, index=codes.index)
    return {
        code: label if isinstance(label, str) and label.strip() else category_label(code)
        for code, label in zip(codes, given, strict=True)
    }


def _short_lists(
    ranker: Any,
    feature_names: list[str],
    pairs: pd.DataFrame,
    rules: OfferRules,
    k: int,
    labels: Mapping[str, str],
) -> pd.DataFrame:
    """One row per (cutoff, account_id) in ``pairs``: ``offers`` (codes, best first),
    ``offer_labels`` (their names), ``offer_scores`` (what ``rules.rank_by`` ranks by) and
    ``offer_reasons``.

    An account whose every category is excluded by the rules gets empty lists. Accounts
    come in the order they first appear in ``pairs``. The lists are the same as
    ``offer_rules.top_offers`` would give (score descending, NaN last, ties by category
    name, then row order), but found with one stable numpy sort over integer codes and
    sliced per account: a pandas sort, groupby-head and groupby-agg(list) over millions of
    pairs cost the nightly run about a minute.
    """
    probability = ranker.predict(pairs[feature_names]) if len(pairs) else np.empty(0)
    scored = apply_offer_rules(pairs, probability, rules)
    accounts = pairs[_QUERY].drop_duplicates()
    # query code of each scored row, numbered in the order accounts first appear in pairs
    query = _query_codes(accounts, scored)
    category = pd.factorize(scored["category"], sort=True)[0]
    score = scored["score"].to_numpy(dtype=np.float64)
    # lexsort: last key first; NaN scores sort last, as top_k's na_position="last"
    order = np.lexsort((category, -score, query))
    sorted_query = query[order]
    starts = np.searchsorted(sorted_query, np.arange(len(accounts) + 1))
    rank = np.arange(len(order)) - starts[sorted_query]
    best = order[rank < k]  # positions in scored, grouped by account, best first
    bounds = np.searchsorted(query[best], np.arange(len(accounts) + 1))

    chosen = scored.iloc[best]
    reasons = offer_reasons(chosen, labels).tolist()
    categories = chosen["category"].astype(str).tolist()
    names = [labels.get(c) or category_label(c) for c in categories]
    scores = chosen["score"].to_numpy(dtype=np.float64).tolist()
    spans = list(zip(bounds[:-1].tolist(), bounds[1:].tolist(), strict=True))
    # one frame with every column: four inserts cost ~0.1 ms each on a posted history
    columns = {c: accounts[c].reset_index(drop=True) for c in accounts.columns}
    columns["offers"] = pd.Series([categories[a:b] for a, b in spans], dtype=object)
    columns["offer_labels"] = pd.Series([names[a:b] for a, b in spans], dtype=object)
    columns["offer_scores"] = pd.Series([scores[a:b] for a, b in spans], dtype=object)
    columns["offer_reasons"] = pd.Series([reasons[a:b] for a, b in spans], dtype=object)
    return pd.DataFrame(columns)


# The rows up to which ``_query_codes`` numbers the queries with a Python dict.
SMALL_QUERY_ROWS = 10_000


def _query_codes(accounts: pd.DataFrame, scored: pd.DataFrame) -> np.ndarray:
    """Position in ``accounts`` (unique query rows) of each row of ``scored``.

    Why: two MultiIndexes per pass cost ~1 ms on a posted history's few hundred pairs; a
    dict of tuples does it in a fraction. Only for small frames whose keys have no missing
    value (NaT and NA do not compare equal to themselves, so a dict could differ from the
    index); anything else takes the MultiIndex path.
    """
    if len(scored) <= SMALL_QUERY_ROWS and not accounts.isna().to_numpy().any():
        keys = list(zip(*(accounts[c].tolist() for c in _QUERY), strict=True))
        code = {key: i for i, key in enumerate(keys)}
        rows = zip(*(scored[c].tolist() for c in _QUERY), strict=True)
        return np.fromiter((code.get(row, -1) for row in rows), dtype=np.intp, count=len(scored))
    query: np.ndarray = pd.MultiIndex.from_frame(accounts).get_indexer(
        pd.MultiIndex.from_frame(scored[_QUERY])
    )
    return query
