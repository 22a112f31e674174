"""Phrase builders for the feature specs' ``ReasonPhrases``: wording that reads right for
every value ("No order in the last 90 days", "Only 1 order ...", "Only 3 orders ...").

Each builder returns a ``Phrase`` function of (value, the account's feature row), so a spec
states its wording once, next to its feature, and the rules for zero, one and many live
here.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Mapping

__all__ = [
    "count_phrase",
    "or_zero",
    "days_ago",
    "days_phrase",
    "money",
    "number",
    "plural",
    "row_number",
]

PhraseFn = Callable[[float, Mapping[str, object]], str]


def plural(n: float, one: str, many: str | None = None) -> str:
    """ "1 order", "3 orders", "1 category", "2 categories" (``many`` when not one + "s")."""
    count = round(n)
    word = one if count == 1 else (many if many is not None else one + "s")
    return f"{count:,} {word}"


def money(value: float) -> str:
    return f"{value:,.0f}"


def number(value: float, digits: int = 0) -> str:
    return f"{value:,.{digits}f}"


def days_ago(days: float) -> str:
    """ "today", "yesterday", "12 days ago"."""
    count = round(days)
    if count <= 0:
        return "today"
    return "yesterday" if count == 1 else f"{count:,} days ago"


def row_number(row: Mapping[str, object], name: str) -> float | None:
    """Another feature of the account's row as a float; None when absent or missing."""
    value = row.get(name)
    if value is None:
        return None
    try:
        number = float(value)  # type: ignore[arg-type]
    except (TypeError, ValueError):
        return None
    return None if math.isnan(number) else number


def or_zero(template: str, zero: str, fmt: str = ",.0f") -> PhraseFn:
    """``template`` with ``{value}`` in ``fmt``, and ``zero`` for a value that shows as 0
    ("No returns this year" rather than "Returned only 0% ...")."""

    def phrase(value: float, row: Mapping[str, object]) -> str:
        shown = format(value, fmt)
        if float(shown.rstrip("%").replace(",", "") or 0) == 0:
            return zero
        return template.format(value=shown)

    return phrase


def days_phrase(template: str) -> PhraseFn:
    """``template`` with ``{days}`` as "1 day" / "12 days"."""
    return lambda value, row: template.format(days=plural(value, "day"))


def count_phrase(
    one: str,
    *,
    many: str | None = None,
    none: str,
    some: str = "{n}",
    few: str = "Only {n}",
    suffix: str,
) -> tuple[PhraseFn, PhraseFn]:
    """(high, low) phrases for a count: high "3 complaints in the last 90 days"; low
    "Only 1 complaint in the last 90 days", and ``none`` ("No complaint in ...") for zero."""

    def high(value: float, row: Mapping[str, object]) -> str:
        if round(value) == 0:
            return none
        return f"{some.format(n=plural(value, one, many))} {suffix}"

    def low(value: float, row: Mapping[str, object]) -> str:
        if round(value) == 0:
            return none
        return f"{few.format(n=plural(value, one, many))} {suffix}"

    return high, low
