"""The CLI's option parsers, in process: ``--as-of`` takes ISO dates only, in a safe range."""

from __future__ import annotations

import pandas as pd
import pytest
import typer

from kam_ml.cli import parse_as_of, parse_scores_file


def test_an_iso_date_is_midnight_of_that_day() -> None:
    assert parse_as_of("2026-10-31") == pd.Timestamp("2026-10-31 00:00")
    assert parse_as_of("1997-01-01") == pd.Timestamp("1997-01-01")  # CDNOW's first day


@pytest.mark.parametrize(
    ("value", "message"),
    [
        ("31/10/2026", "not a date in the form YYYY-MM-DD"),
        ("yesterday", "not a date in the form YYYY-MM-DD"),
        ("20261031", "not a date in the form YYYY-MM-DD"),  # ISO basic: fromisoformat takes it
        ("2026-W44-6", "not a date in the form YYYY-MM-DD"),  # ISO week date: likewise
        ("2026-10-31T00:00", "not a date in the form YYYY-MM-DD"),
        (" 2026-10-31", "not a date in the form YYYY-MM-DD"),
        ("2026-13-01", "not a calendar date: month must be in 1..12"),
        ("2026-02-29", "not a calendar date: day is out of range for month"),
        ("2262-04-12", "out of range: use a date from 1900-01-01 to 2199-12-31"),
        ("1677-09-21", "out of range"),
        ("9999-12-31", "out of range"),
    ],
)
def test_anything_else_is_refused_with_the_reason(value: str, message: str) -> None:
    with pytest.raises(typer.BadParameter, match=message):
        parse_as_of(value)


def test_the_scores_file_suffix_picks_the_format() -> None:
    assert parse_scores_file("out/scores.CSV").name == "scores.CSV"
    with pytest.raises(typer.BadParameter, match="'scores.xlsx' must end in .parquet or .csv"):
        parse_scores_file("scores.xlsx")
