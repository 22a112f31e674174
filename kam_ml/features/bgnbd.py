"""The specs of the BG/NBD candidate features; the fit lives in ``kam_ml.science.bgnbd_group``.

Why split: fitting BG/NBD is science-layer code (``kam_ml.science.btyd``), which the
features layer may not import; the specs live here so the churn model reads their
directions like any other feature's.

Why try it: BG/NBD is the textbook buy-till-you-die model and the baseline the churn model must
beat on CDNOW; given as inputs, its two answers summarise recency, frequency and age in the
shape a dropout process implies. Caveat, and why it is not in production unless it wins on
every book: the four parameters are fitted on the *whole book* known at the cutoff, so one
account scored alone (serving from its history) would get different values unless the
parameters fitted at training were stored with the model. Here they are refitted at every
cutoff on the history known then, which is point-in-time but book-level.
"""

from __future__ import annotations

from kam_ml.features.registry import FeatureSpec

__all__ = ["SPECS"]

SPECS: tuple[FeatureSpec, ...] = (
    FeatureSpec(
        "bgnbd_p_alive",
        "BG/NBD probability that the account is still a buyer (book fitted at the cutoff)",
        "Buying pattern says only {value} chance it is still active",
        fmt=".0%",
        churn_direction=-1,
    ),
    FeatureSpec(
        "bgnbd_expected_orders",
        "BG/NBD expected order days in the horizon (book fitted at the cutoff)",
        "Buying pattern expects only {value} order(s) in the horizon",
        fmt=".1f",
        churn_direction=-1,
    ),
)
