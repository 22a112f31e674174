"""The input data contract as data: tables, columns, logical types and row rules.

``docs/data-contract.md`` is the prose version; this module is what the code enforces.
Keeping the schema and the rule list declarative lets the loader, the docs and the tests
enumerate the same rules instead of each keeping its own copy. ``parse_column`` belongs
here too: what counts as a valid date or boolean is part of the contract, not of a reader.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import Enum
from typing import Literal

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc

from kam_ml.pandas_compat import TEXT

__all__ = [
    "ABSURD_AMOUNT",
    "BOOLEAN_SPELLINGS",
    "CONTRACT",
    "REQUIRED_TABLES",
    "SMALL_COLUMN_ROWS",
    "TABLE_NAMES",
    "Column",
    "LogicalType",
    "RowRule",
    "TableSchema",
    "category_label",
    "parse_column",
]

LogicalType = Literal["string", "date", "timestamp", "int", "float", "bool"]


@dataclass(frozen=True)
class Column:
    """One contract column; optional columns may be absent from the input."""

    name: str
    type: LogicalType
    required: bool = True


@dataclass(frozen=True)
class TableSchema:
    """One contract table and the column that names a row in messages (``key``)."""

    name: str
    required: bool
    key: str
    columns: tuple[Column, ...]

    @property
    def column_names(self) -> tuple[str, ...]:
        return tuple(c.name for c in self.columns)

    @property
    def required_columns(self) -> tuple[str, ...]:
        return tuple(c.name for c in self.columns if c.required)


def _c(name: str, type_: LogicalType, required: bool = True) -> Column:
    return Column(name, type_, required)


# ``manager`` is treated as an optional column: the contract says a missing manager means
# "unassigned", so a whole missing column means every account is unassigned.
ACCOUNTS = TableSchema(
    "accounts",
    required=True,
    key="account_id",
    columns=(
        _c("account_id", "string"),
        _c("signup_date", "date"),
        _c("manager", "string", required=False),
        _c("region", "string"),
        _c("segment", "string", required=False),
    ),
)
ORDERS = TableSchema(
    "orders",
    required=True,
    key="order_id",
    columns=(
        _c("order_id", "string"),
        _c("account_id", "string"),
        _c("order_date", "timestamp"),
        _c("category", "string"),
        _c("product_id", "string", required=False),
        _c("quantity", "int"),
        _c("amount", "float"),
        _c("returned", "bool", required=False),
        _c("return_date", "timestamp", required=False),
    ),
)
INTERACTIONS = TableSchema(
    "interactions",
    required=False,
    key="account_id",
    columns=(
        _c("account_id", "string"),
        _c("event_date", "timestamp"),
        _c("event_type", "string"),
        _c("value", "float", required=False),
    ),
)
CATEGORIES = TableSchema(
    "categories",
    required=False,
    key="category",
    # ``label`` extends contract v1 (README, "Next-best offers"): the name a manager reads;
    # missing or empty means the code made readable (``category_label``)
    columns=(
        _c("category", "string"),
        _c("margin_rate", "float"),
        _c("label", "string", required=False),
    ),
)

CONTRACT: dict[str, TableSchema] = {t.name: t for t in (ACCOUNTS, ORDERS, INTERACTIONS, CATEGORIES)}
TABLE_NAMES: tuple[str, ...] = tuple(CONTRACT)
REQUIRED_TABLES: tuple[str, ...] = tuple(t.name for t in CONTRACT.values() if t.required)

# Accepted spellings of a boolean (compared after strip + lower case); missing means false.
BOOLEAN_SPELLINGS: dict[str, bool] = {
    **dict.fromkeys(("true", "t", "yes", "y", "1", "1.0"), True),
    **dict.fromkeys(("false", "f", "no", "n", "0", "0.0"), False),
}


def category_label(category: str) -> str:
    """A category code made readable, for a catalogue without labels: "ready_to_wear" ->
    "Ready to wear"."""
    text = " ".join(str(category).replace("_", " ").split())
    return text[:1].upper() + text[1:]


class RowRule(Enum):
    """Every row-level rule, as (table, column, rule text).

    A row that breaks one is quarantined (or the data refused), except the rules with a
    ``repair``: those rows are kept, fixed as described and still reported.
    """

    ACCOUNT_ID_EMPTY = ("accounts", "account_id", "must be non-empty")
    ACCOUNT_ID_DUPLICATE = ("accounts", "account_id", "must be unique")
    SIGNUP_DATE_INVALID = ("accounts", "signup_date", "must be a valid date")
    SIGNUP_AFTER_FIRST_ORDER = (
        "accounts",
        "signup_date",
        "must not be after the account's first order",
    )
    ORDER_ID_EMPTY = ("orders", "order_id", "must be non-empty")
    ORDER_ACCOUNT_UNKNOWN = ("orders", "account_id", "must exist in accounts")
    ORDER_DATE_INVALID = ("orders", "order_date", "must be a valid timestamp")
    ORDER_DATE_AFTER_AS_OF = ("orders", "order_date", "must not be after the as-of date")
    ORDER_CATEGORY_EMPTY = ("orders", "category", "must be non-empty")
    QUANTITY_INVALID = ("orders", "quantity", "must be an integer > 0")
    AMOUNT_NOT_NUMBER = ("orders", "amount", "must be a number")
    AMOUNT_NEGATIVE = ("orders", "amount", "must be >= 0")
    AMOUNT_ABSURD = ("orders", "amount", "must be at most 1e12")
    RETURNED_INVALID = ("orders", "returned", "must be a boolean (true/false, yes/no, 1/0)")
    RETURN_DATE_INVALID = ("orders", "return_date", "must be a valid timestamp")
    RETURN_BEFORE_ORDER = ("orders", "return_date", "must not be before order_date")
    INTERACTION_ACCOUNT_UNKNOWN = ("interactions", "account_id", "must exist in accounts")
    EVENT_DATE_INVALID = ("interactions", "event_date", "must be a valid timestamp")
    EVENT_DATE_AFTER_AS_OF = ("interactions", "event_date", "must not be after the as-of date")
    EVENT_TYPE_EMPTY = ("interactions", "event_type", "must be non-empty")
    VALUE_NOT_NUMBER = ("interactions", "value", "must be a number")
    VALUE_ABSURD = ("interactions", "value", "must be at most 1e12 in absolute value")
    NPS_OUT_OF_RANGE = ("interactions", "value", "must be in 0..10 for nps events")
    TICKET_NEGATIVE = ("interactions", "value", "must be >= 0 for ticket events")
    CATEGORY_EMPTY = ("categories", "category", "must be non-empty")
    CATEGORY_DUPLICATE = ("categories", "category", "must be unique")
    MARGIN_OUT_OF_RANGE = ("categories", "margin_rate", "must be a number in [0, 1]")

    @property
    def table(self) -> str:
        return self.value[0]

    @property
    def column(self) -> str:
        return self.value[1]

    @property
    def text(self) -> str:
        return self.value[2]

    @property
    def repair(self) -> str:
        """What is done instead of quarantining; empty for quarantine rules."""
        return _REPAIRS.get(self.name, "")

    def __str__(self) -> str:
        return f"{self.table}.{self.column} {self.text}"


# The largest amount (or event value) taken as a real figure. A trillion in the reporting
# currency is beyond any one order line of any retailer, yet far below where float sums
# overflow (1e308): a line above it is a unit or export error, and kept it would turn the
# account's revenue features, the band means and the API's JSON into inf and NaN.
ABSURD_AMOUNT = 1e12

# Signup dates typed in after the fact are common in CRM exports; dropping the account (and
# with it every order) would cost far more than trusting its first order as the start.
_REPAIRS = {"SIGNUP_AFTER_FIRST_ORDER": "signup_date set to the first order date"}


# -- reading values of each logical type ------------------------------------------------


def parse_column(values: pd.Series, type_: LogicalType) -> tuple[pd.Series, np.ndarray]:
    """Parse one raw column to its logical type; also return which values did not parse.

    Missing values (NaN, None, blank text) are not parse failures: whether a missing value
    breaks a rule is the validator's call. The returned Series keeps the input's index.
    Strings come back stripped, with blanks as NaN; dates and timestamps as naive-UTC
    datetime64[ns] in whole microseconds (dates at midnight); ints, floats and booleans as
    float64 (1.0/0.0).
    A dtype that cannot hold the type at all (a float column for a date) fails every value.
    """
    is_text = _is_text_like(values)
    if is_text or type_ == "string":
        values = _text(values)
    present = values.notna().to_numpy()
    if type_ == "string":
        return values, np.zeros(len(values), dtype=bool)
    if type_ in ("date", "timestamp"):
        parsed = _timestamps(values, is_text, date_only=type_ == "date")
        return parsed, present & parsed.isna().to_numpy()
    numbers = _booleans(values, is_text) if type_ == "bool" else _numbers(values, is_text)
    return pd.Series(numbers, index=values.index), present & np.isnan(numbers)


def _text(values: pd.Series) -> pd.Series:
    text = values if isinstance(values.dtype, pd.StringDtype) else values.astype(TEXT)
    if _already_clean(text):
        return text
    text = text.str.strip()
    return text.mask(text == "")


# The rows up to which ``_already_clean`` looks at the values one by one, in Python.
SMALL_COLUMN_ROWS = 10_000


def _already_clean(text: pd.Series) -> bool:
    """True when stripping and blanking would change nothing: a small column of ASCII text,
    none of it blank or padded (what a posted history sends).

    Why: a posted history's columns hold a few hundred values, where strip and mask cost
    ~0.5 ms each in pandas' fixed overhead; this look costs ~0.05 ms. ASCII only, so that
    Python's and Arrow's notions of whitespace cannot differ; anything else takes the
    general path.
    """
    if len(text) > SMALL_COLUMN_ROWS:
        return False
    # each distinct value once: a posted history's ids and codes repeat on every line
    return all(
        not isinstance(value, str) or (value.isascii() and value.strip() == value != "")
        for value in set(text.tolist())
    )


def _is_text_like(values: pd.Series) -> bool:
    dtype = values.dtype
    return (
        pd.api.types.is_string_dtype(dtype)
        or pd.api.types.is_object_dtype(dtype)
        or isinstance(dtype, pd.CategoricalDtype)
    )


def _is_number_dtype(values: pd.Series) -> bool:
    dtype = values.dtype
    return pd.api.types.is_numeric_dtype(dtype) and not pd.api.types.is_bool_dtype(dtype)


def _numbers(values: pd.Series, is_text: bool) -> np.ndarray:
    if _is_number_dtype(values):
        return values.to_numpy(dtype="float64", na_value=np.nan)
    if not is_text:
        return np.full(len(values), np.nan)
    try:  # Arrow parses clean numeric text ~20x faster than pandas; fall back on any mess
        return pc.cast(pa.array(values.array), pa.float64()).to_numpy(zero_copy_only=False)
    except (pa.ArrowInvalid, pa.ArrowNotImplementedError, TypeError):
        parsed = pd.Series(pd.to_numeric(values, errors="coerce"))
        return parsed.to_numpy(dtype="float64", na_value=np.nan)


def _booleans(values: pd.Series, is_text: bool) -> np.ndarray:
    if pd.api.types.is_bool_dtype(values.dtype):
        return values.to_numpy(dtype="float64", na_value=np.nan)
    if _is_number_dtype(values):
        numbers = values.to_numpy(dtype="float64", na_value=np.nan)
        return np.where((numbers == 0) | (numbers == 1), numbers, np.nan)
    result = np.full(len(values), np.nan)
    if is_text:
        lower = values.str.lower()
        result[lower.isin([k for k, v in BOOLEAN_SPELLINGS.items() if v]).to_numpy()] = 1.0
        result[lower.isin([k for k, v in BOOLEAN_SPELLINGS.items() if not v]).to_numpy()] = 0.0
    return result


def _timestamps(values: pd.Series, is_text: bool, date_only: bool) -> pd.Series:
    if isinstance(values.dtype, pd.DatetimeTZDtype):
        parsed = values.dt.tz_convert("UTC").dt.tz_localize(None)
    elif pd.api.types.is_datetime64_dtype(values.dtype):
        parsed = values
    elif is_text:
        parsed = _parse_iso_text(values)
    else:
        return pd.Series(pd.NaT, index=values.index, dtype="datetime64[ns]")
    if parsed.dtype != "datetime64[ns]":
        # pandas may infer s/ms/us; ns is the contract, so dates outside its range fail.
        try:  # every date in range (the usual case): the cast alone, a quarter of the cost
            parsed = parsed.astype("datetime64[ns]")
        except pd.errors.OutOfBoundsDatetime:
            in_range = (parsed >= pd.Timestamp.min) & (parsed <= pd.Timestamp.max)
            parsed = parsed.where(in_range).astype("datetime64[ns]")
    return parsed.dt.normalize() if date_only else _whole_microseconds(parsed)


def _whole_microseconds(parsed: pd.Series) -> pd.Series:
    """Timestamps without their sub-microsecond part: kam-ml's Parquet files store
    microseconds (``kam_ml.parquet``), so a finer part could not be written back."""
    ns = parsed.to_numpy(dtype="datetime64[ns]").view(np.int64)
    fine = (ns % 1000 != 0) & parsed.notna().to_numpy()
    return parsed.dt.floor("us") if fine.any() else parsed


def _parse_iso_text(text: pd.Series) -> pd.Series:
    try:  # Arrow reads clean, offset-free ISO text ~10x faster; pandas handles the rest
        parsed = pc.cast(pa.array(text.array), pa.timestamp("ns"))
        return pd.Series(parsed.to_numpy(zero_copy_only=False), index=text.index)
    except (pa.ArrowInvalid, pa.ArrowNotImplementedError, TypeError):
        # utc=True: an offset in the text is honoured; text without one is already UTC.
        parsed = pd.to_datetime(text, errors="coerce", format="ISO8601", utc=True)
        return parsed.dt.tz_localize(None)
