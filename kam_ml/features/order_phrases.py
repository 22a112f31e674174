"""Reason phrases of the order features whose wording depends on the value or on another
feature of the account ("No order for 150 days — usually every 40")."""

from __future__ import annotations

import math
from collections.abc import Mapping

from kam_ml.features.phrases import days_ago, money, plural, row_number
from kam_ml.features.registry import ReasonPhrases

__all__ = [
    "CATEGORIES",
    "ORDERS_TREND",
    "OVERDUE",
    "RECENCY",
    "REVENUE_TREND",
    "orders_in",
    "revenue_in",
]


def _usually(row: Mapping[str, object]) -> str:
    gap = row_number(row, "mean_gap_days")
    return f" — usually every {gap:,.0f}" if gap is not None and gap >= 1 else ""


def _no_order_for(value: float, row: Mapping[str, object]) -> str:
    if round(value) <= 0:
        return "Ordered today"
    return f"No order for {plural(value, 'day')}{_usually(row)}"


def _ordered(value: float, row: Mapping[str, object]) -> str:
    return f"Last ordered {days_ago(value)}{_usually(row)}"


RECENCY = ReasonPhrases(high=_no_order_for, low=_ordered)


def orders_in(window: int) -> ReasonPhrases:
    def high(value: float, row: Mapping[str, object]) -> str:
        if round(value) == 0:
            return f"No order in the last {window} days"
        return f"{plural(value, 'order')} in the last {window} days"

    def low(value: float, row: Mapping[str, object]) -> str:
        if round(value) == 0:
            return f"No order in the last {window} days"
        return f"Only {plural(value, 'order')} in the last {window} days"

    return ReasonPhrases(high=high, low=low)


def revenue_in(window: int) -> ReasonPhrases:
    def high(value: float, row: Mapping[str, object]) -> str:
        if value <= 0:
            return f"Nothing spent in the last {window} days"
        return f"Spent {money(value)} in the last {window} days"

    def low(value: float, row: Mapping[str, object]) -> str:
        if value <= 0:
            return f"Nothing spent in the last {window} days"
        return f"Spent only {money(value)} in the last {window} days"

    return ReasonPhrases(high=high, low=low)


def _spending(value: float, row: Mapping[str, object]) -> str:
    """From the log ratio log1p(last 90 days) - log1p(the 90 before); exact amounts when
    the row has them (revenue_180d - revenue_90d is the 90 days before)."""
    recent = row_number(row, "revenue_90d")
    half = row_number(row, "revenue_180d")
    prior = half - recent if recent is not None and half is not None else None
    if recent is not None and prior is not None:
        if prior <= 0 and recent <= 0:
            return "Nothing spent in the last 180 days"
        if prior <= 0:
            return f"Spent {money(recent)} in the last 90 days, nothing in the 90 before"
        if recent <= 0:
            return f"Nothing spent in the last 90 days, after {money(prior)} in the 90 before"
        change = recent / prior - 1.0
    else:
        change = math.expm1(value)
    if abs(change) < 0.005:
        return "Spending level with the previous 90 days"
    way = "up" if change > 0 else "down"
    return f"Spending {way} {abs(change):.0%} on the previous 90 days"


REVENUE_TREND = ReasonPhrases(high=_spending, low=_spending)


def _orders_trend(value: float, row: Mapping[str, object]) -> str:
    change = round(value)
    if change == 0:
        return "As many orders in the last half-year as in the one before"
    way = "more" if change > 0 else "fewer"
    count = plural(abs(change), "order").split(" ", 1)
    return f"{count[0]} {way} {count[1]} in the last half-year than in the one before"


ORDERS_TREND = ReasonPhrases(high=_orders_trend, low=_orders_trend)


def _overdue(value: float, row: Mapping[str, object]) -> str:
    """The days and the usual gap are the recency reason's ("No order for 150 days — usually
    every 40"), often shown next to this one, so this one says only how late."""
    if value < 1.0:  # above the low-risk average, and still not late
        return _on_time(value, row)
    return f"Overdue: {value:.1f}x its usual time between orders"


def _on_time(value: float, row: Mapping[str, object]) -> str:
    days = row_number(row, "days_since_last_order")
    gap = row_number(row, "mean_gap_days")
    if days is not None and gap is not None:
        return (
            f"Within its usual time between orders "
            f"(ordered {days_ago(days)}, usually every {gap:,.0f})"
        )
    return f"Within its usual time between orders ({value:.1f}x)"


OVERDUE = ReasonPhrases(
    high=_overdue, low=_on_time, missing="Only one order so far: no usual rhythm yet"
)


def _categories_low(value: float, row: Mapping[str, object]) -> str:
    if round(value) == 0:
        return "Bought nothing in the last 365 days"
    return f"Buys from only {plural(value, 'category', 'categories')} this year"


def _categories_high(value: float, row: Mapping[str, object]) -> str:
    if round(value) == 0:
        return "Bought nothing in the last 365 days"
    return f"Buys from {plural(value, 'category', 'categories')} this year"


CATEGORIES = ReasonPhrases(high=_categories_high, low=_categories_low)
