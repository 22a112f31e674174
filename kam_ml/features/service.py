"""Service features from the interactions table: complaints, tickets and NPS."""

from __future__ import annotations

import numpy as np
import pandas as pd

from kam_ml.definitions import ProblemDefinition
from kam_ml.features.aggregate import count, minimum, newest_value, total
from kam_ml.features.registry import FeatureSpec, register
from kam_ml.tables import Tables, account_codes

__all__ = ["service_features"]

register(
    FeatureSpec(
        "complaints_90d", "Complaints in the last 90 days", "{value} complaints in 90 days"
    ),
    FeatureSpec(
        "complaints_365d", "Complaints in the last 365 days", "{value} complaints this year"
    ),
    FeatureSpec(
        "days_since_last_complaint",
        "Days since the last complaint",
        "Complained {value} days ago",
    ),
    FeatureSpec("tickets_365d", "Service tickets in the last 365 days", "{value} service tickets"),
    FeatureSpec(
        "ticket_hours_mean_365d",
        "Average hours to resolve the last 365 days' tickets",
        "Tickets took {value} hours to resolve on average",
    ),
    FeatureSpec("nps_latest", "Latest NPS score (0-10)", "Latest NPS score {value}"),
    FeatureSpec(
        "nps_mean_365d",
        "Average NPS score over the last 365 days",
        "Average NPS {value}",
        fmt=".1f",
    ),
)


def service_features(
    history: Tables, cutoff: pd.Timestamp, definition: ProblemDefinition
) -> dict[str, np.ndarray]:
    """Service features for every account; interactions may come in any row order."""
    n = history.n_accounts
    events = history.interactions
    codes = account_codes(events).astype(np.intp)
    age = definition.age_days(events["event_date"], cutoff)
    kind = events["event_type"]  # compared as a Series: categorical codes, not strings
    value = events["value"].to_numpy(dtype=np.float64)

    complaint = (kind == "complaint").to_numpy(dtype=bool)
    ticket = (kind == "ticket").to_numpy(dtype=bool) & ~np.isnan(value)
    nps = (kind == "nps").to_numpy(dtype=bool) & ~np.isnan(value)
    recent = age <= 365

    ticket_count = count(codes, n, ticket & recent)
    ticket_hours = total(codes, np.where(ticket & recent, value, 0.0), n)
    nps_count = count(codes, n, nps & recent)
    nps_sum = total(codes, np.where(nps & recent, value, 0.0), n)
    with np.errstate(divide="ignore", invalid="ignore"):
        return {
            "complaints_90d": count(codes, n, complaint & (age <= 90)),
            "complaints_365d": count(codes, n, complaint & recent),
            "days_since_last_complaint": np.floor(minimum(codes[complaint], age[complaint], n)),
            "tickets_365d": count(codes, n, ticket & recent),
            "ticket_hours_mean_365d": np.where(
                ticket_count > 0, ticket_hours / ticket_count, np.nan
            ),
            "nps_latest": newest_value(codes[nps], age[nps], value[nps], n),
            "nps_mean_365d": np.where(nps_count > 0, nps_sum / nps_count, np.nan),
        }
