"""What the three LightGBM estimators (churn, offers, value) share, below all of them.

``kam_ml.churn``, ``kam_ml.offers`` and ``kam_ml.value`` never import each other, so their
common LightGBM plumbing lives one layer down, here. It is internal: notebooks use the
estimators, not this base. The estimators import ``kam_ml.boosting.estimator`` directly, so
importing this package loads nothing.
"""
