"""Service features from the interactions table: complaints, tickets and NPS."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

from kam_ml.data.aggregate import count, minimum, newest_value, total
from kam_ml.data.tables import Tables, account_codes
from kam_ml.features.phrases import count_phrase, days_ago
from kam_ml.features.registry import FeatureSpec, ReasonPhrases
from kam_ml.problem.definition import ProblemDefinition

__all__ = ["SPECS", "service_features"]


def _hours(value: float) -> str:
    """ "under an hour", "1 hour", "26 hours"."""
    if value < 0.5:
        return "under an hour"
    return "1 hour" if round(value) == 1 else f"{value:,.0f} hours"


SPECS: tuple[FeatureSpec, ...] = (
    FeatureSpec(
        "complaints_90d",
        "Complaints in the last 90 days",
        "{value} complaints in 90 days",
        churn_direction=1,
        phrases=ReasonPhrases(
            *count_phrase(
                "complaint", none="No complaint in the last 90 days", suffix="in the last 90 days"
            )
        ),
    ),
    FeatureSpec(
        "complaints_365d",
        "Complaints in the last 365 days",
        "{value} complaints this year",
        churn_direction=1,
        phrases=ReasonPhrases(
            *count_phrase("complaint", none="No complaint this year", suffix="this year")
        ),
    ),
    FeatureSpec(
        "days_since_last_complaint",
        "Days since the last complaint",
        "Complained {value} days ago",
        churn_direction=-1,
        phrases=ReasonPhrases(
            high=lambda value, row: f"Last complaint {days_ago(value)}",
            low=lambda value, row: f"Complained {days_ago(value)}",
        ),
    ),
    FeatureSpec(
        "tickets_365d",
        "Service tickets in the last 365 days",
        "{value} service tickets",
        phrases=ReasonPhrases(
            *count_phrase("service ticket", none="No service ticket this year", suffix="this year")
        ),
    ),
    FeatureSpec(
        "ticket_hours_mean_365d",
        "Average hours to resolve the last 365 days' tickets",
        "Tickets took {value} hours to resolve on average",
        churn_direction=1,
        phrases=ReasonPhrases(
            high=lambda value, row: f"Tickets took {_hours(value)} to resolve on average",
            low=lambda value, row: f"Tickets resolved in {_hours(value)} on average",
        ),
    ),
    FeatureSpec(
        "nps_latest",
        "Latest NPS score (0-10)",
        "Latest NPS score {value}",
        churn_direction=-1,
        phrases=ReasonPhrases(
            high="Latest NPS score {value} of 10", low="Latest NPS score only {value} of 10"
        ),
    ),
    FeatureSpec(
        "nps_mean_365d",
        "Average NPS score over the last 365 days",
        "Average NPS {value}",
        fmt=".1f",
        churn_direction=-1,
        phrases=ReasonPhrases(
            high="Average NPS {value} of 10 this year",
            low="Average NPS only {value} of 10 this year",
        ),
    ),
)


def service_features(
    history: Tables, cutoff: pd.Timestamp, definition: ProblemDefinition
) -> dict[str, np.ndarray]:
    """Service features for every account; interactions may come in any row order."""
    n = history.n_accounts
    events = history.interactions
    complaints = _Events.of_kind(events, "complaint", cutoff, definition)
    tickets = _Events.of_kind(events, "ticket", cutoff, definition, valued=True)
    surveys = _Events.of_kind(events, "nps", cutoff, definition, valued=True)
    year_tickets, year_surveys = tickets.within(365), surveys.within(365)
    ticket_count = count(year_tickets.codes, n)
    ticket_hours = total(year_tickets.codes, year_tickets.value, n)
    nps_count = count(year_surveys.codes, n)
    nps_sum = total(year_surveys.codes, year_surveys.value, n)
    with np.errstate(divide="ignore", invalid="ignore"):
        return {
            "complaints_90d": count(complaints.codes, n, complaints.age <= 90),
            "complaints_365d": count(complaints.codes, n, complaints.age <= 365),
            "days_since_last_complaint": np.floor(minimum(complaints.codes, complaints.age, n)),
            "tickets_365d": ticket_count,
            "ticket_hours_mean_365d": np.where(
                ticket_count > 0, ticket_hours / ticket_count, np.nan
            ),
            "nps_latest": newest_value(surveys.codes, surveys.age, surveys.value, n),
            "nps_mean_365d": np.where(nps_count > 0, nps_sum / nps_count, np.nan),
        }


@dataclass(frozen=True)
class _Events:
    """The events of one type: account codes, ages at the cutoff and values.

    Each feature reads one event type, so each type is taken out once and only its rows'
    ages are computed; sums over a subset equal masked sums over all rows.
    """

    codes: np.ndarray
    age: np.ndarray
    value: np.ndarray

    @classmethod
    def of_kind(
        cls,
        events: pd.DataFrame,
        kind: str,
        cutoff: pd.Timestamp,
        definition: ProblemDefinition,
        valued: bool = False,
    ) -> _Events:
        value = events["value"].to_numpy(dtype=np.float64)
        rows = (events["event_type"] == kind).to_numpy(dtype=bool)
        if valued:
            rows = rows & ~np.isnan(value)
        dates = events["event_date"].to_numpy(dtype="datetime64[ns]")[rows]
        codes = account_codes(events)[rows].astype(np.intp)
        return cls(codes, definition.age_days(dates, cutoff), value[rows])

    def within(self, days: int) -> _Events:
        rows = self.age <= days
        return _Events(self.codes[rows], self.age[rows], self.value[rows])
