"""Check raw frames against the data contract; build ``Tables`` and a quarantine report.

Structural problems (missing table or column, a column none of whose values parse) raise
``DataContractError``: no row-level fix can repair them. Row-level problems are the
``RowRule`` list of ``kam_ml.data.contract``; their rows are quarantined (kept in the report,
never silently lost) or, with ``on_bad_rows="refuse"``, the whole input is refused with a
``BadRowsError``. Everything is vectorised: one boolean mask per rule, no per-row Python.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Literal

import numpy as np
import pandas as pd

from kam_ml.data.contract import (
    ABSURD_AMOUNT,
    CONTRACT,
    REQUIRED_TABLES,
    RowRule,
    TableSchema,
    category_label,
    parse_column,
)
from kam_ml.data.quarantine import QuarantineReport, RuleViolation
from kam_ml.data.sources import read_source
from kam_ml.data.tables import Tables
from kam_ml.errors import BadRowsError, DataContractError, DefinitionError
from kam_ml.pandas_compat import TEXT

__all__ = [
    "OnBadRows",
    "QuarantineReport",
    "RuleViolation",
    "ValidationResult",
    "load_tables",
    "validate_tables",
]

OnBadRows = Literal["refuse", "quarantine"]
_N_EXAMPLES = 3
_TYPE_NOUNS = {
    "date": "a date",
    "timestamp": "a timestamp",
    "int": "an integer",
    "float": "a number",
    "bool": "a boolean (true/false, yes/no, 1/0)",
}


@dataclass(frozen=True, eq=False)
class ValidationResult:
    """The validated tables and what was quarantined or repaired on the way."""

    tables: Tables
    report: QuarantineReport


# -- public entry points ----------------------------------------------------------------


def load_tables(
    source: str | Path,
    on_bad_rows: OnBadRows = "quarantine",
    not_after: pd.Timestamp | None = None,
) -> ValidationResult:
    """Read a folder of Parquet/CSV files or a ``sqlite:///`` / ``postgresql://`` URI, then
    validate it; the one call the CLI, the notebook and the nightly job share."""
    return validate_tables(read_source(source), on_bad_rows=on_bad_rows, not_after=not_after)


def validate_tables(
    raw: Mapping[str, pd.DataFrame],
    on_bad_rows: OnBadRows = "quarantine",
    not_after: pd.Timestamp | None = None,
) -> ValidationResult:
    """Turn raw contract frames into ``Tables`` holding every invariant of ``kam_ml.data.tables``.

    ``not_after`` is the last plausible day: the explicit as-of date, else the day of the
    run. Orders and events dated after it (any time of that day is still on it) cannot have
    happened yet; they are quarantined under rules of their own, so a few rows typed with
    the wrong year cannot move the default as-of date (``Tables.last_date``) into the
    future. ``None`` (notebooks, tests) checks no date against a calendar.

    Raises ``DataContractError`` for structural problems or when no valid account or order
    row is left, ``BadRowsError`` for broken row rules when ``on_bad_rows="refuse"`` and
    ``DefinitionError`` for an unknown ``on_bad_rows`` (notebooks pass it as a string).
    """
    if on_bad_rows not in ("refuse", "quarantine"):
        raise DefinitionError(
            "The 'on_bad_rows' of validate_tables must be 'refuse' or 'quarantine'. "
            f"Got {on_bad_rows!r} instead."
        )
    missing = [name for name in REQUIRED_TABLES if name not in raw]
    if missing:
        given = ", ".join(sorted(raw)) or "none"
        raise DataContractError(
            f"Required table {missing[0]!r} is missing (tables given: {given})."
        )
    checks = {name: _Check(CONTRACT[name], raw[name]) for name in CONTRACT if name in raw}
    accounts = _check_accounts(checks["accounts"])
    end = None if not_after is None else pd.Timestamp(not_after).normalize() + pd.Timedelta(days=1)
    orders = _check_orders(checks["orders"], accounts["account_id"], end)
    interactions = _check_interactions(checks.get("interactions"), accounts["account_id"], end)
    catalogue = _check_categories(checks.get("categories"))
    accounts = _clamp_signup(checks["accounts"], accounts, orders)
    report = QuarantineReport(
        violations=tuple(v for c in checks.values() for v in c.violations()),
        quarantined={name: c.quarantined() for name, c in checks.items()},
    )
    if on_bad_rows == "refuse" and not report.is_clean:
        lines = "\n".join(str(v) for v in report.violations)
        raise BadRowsError(
            f"The data breaks {len(report.violations)} contract row rule(s) and "
            f"on_bad_rows='refuse', so nothing was loaded:\n{lines}"
        )
    for name, frame in (("accounts", accounts), ("orders", orders)):
        n = checks[name].n
        if frame.empty:
            raise DataContractError(
                f"{name} has no valid rows: {n:,} of {n:,} rows broke contract rules.\n{report}"
                if n
                else f"{name} has no rows; the contract needs at least one."
            )
    categories = _with_ordered_categories(catalogue, orders["category"])
    return ValidationResult(Tables(accounts, orders, interactions, categories), report)


# -- per-table parsing and rule masks -----------------------------------------------------


class _Check:
    """One raw table: its parsed columns and a boolean mask per broken row rule."""

    def __init__(self, schema: TableSchema, raw: pd.DataFrame) -> None:
        self.schema = schema
        self.raw = raw.reset_index(drop=True)
        self.n = len(self.raw)
        absent = [c for c in schema.required_columns if c not in self.raw.columns]
        if absent:
            found = ", ".join(map(str, self.raw.columns)) or "no columns"
            raise DataContractError(
                f"{schema.name} is missing required column {absent[0]!r} (found: {found})."
            )
        self.values: dict[str, pd.Series] = {}
        self.unparsed: dict[str, np.ndarray] = {}
        for column in schema.columns:
            if column.name in self.raw.columns:
                parsed, unparsed = parse_column(self.raw[column.name], column.type)
                self._refuse_unparseable(column.name, column.type, parsed, unparsed)
                self.values[column.name], self.unparsed[column.name] = parsed, unparsed
        self.flags: list[tuple[RowRule, np.ndarray]] = []

    def _refuse_unparseable(
        self, name: str, type_: str, parsed: pd.Series, unparsed: np.ndarray
    ) -> None:
        """A column where no value parses is a wrong column, not a few bad rows."""
        failed = int(unparsed.sum())
        if failed == 0 or parsed.notna().any():
            return
        raw = self.raw[name]
        examples = raw[unparsed].iloc[:1000].drop_duplicates().iloc[:_N_EXAMPLES].tolist()
        shown = ", ".join(repr(v) if isinstance(v, str) else str(v) for v in examples)
        text = pd.api.types.is_object_dtype(raw.dtype) or pd.api.types.is_string_dtype(raw.dtype)
        raise DataContractError(
            f"{self.schema.name}.{name} must be {_TYPE_NOUNS[type_]}: none of {failed:,} "
            f"values parse (examples: {shown}{'' if text else f'; column dtype {raw.dtype}'})."
        )

    def flag(self, rule: RowRule, broken: np.ndarray | pd.Series) -> None:
        mask = np.asarray(broken, dtype=bool)
        if mask.any():
            self.flags.append((rule, mask))

    def keep(self) -> np.ndarray:
        keep = np.ones(self.n, dtype=bool)
        for rule, mask in self.flags:
            if not rule.repair:
                keep &= ~mask
        return keep

    def violations(self) -> list[RuleViolation]:
        return [
            RuleViolation(
                rule.table,
                rule.column,
                rule.text,
                int(mask.sum()),
                self._examples(mask),
                rule.repair or "quarantined",
            )
            for rule, mask in self.flags
        ]

    def _examples(self, mask: np.ndarray) -> tuple[str, ...]:
        rows = np.flatnonzero(mask)[:_N_EXAMPLES]
        keys = self.values[self.schema.key].iloc[rows]
        with_row = self.schema.name == "interactions"  # its key does not name one row
        return tuple(
            f"row {r + 1}" if pd.isna(k) else (f"{k} row {r + 1}" if with_row else str(k))
            for r, k in zip(rows, keys, strict=True)
        )

    def quarantined(self) -> pd.DataFrame:
        if not self.flags:  # the usual case, and a posted history's: nothing to label
            return self.raw.iloc[:0].assign(
                row=np.zeros(0, dtype=np.int64), rule=np.zeros(0, dtype=object)
            )
        bad = ~self.keep()
        frame = self.raw.loc[bad]
        labels = np.full(len(frame), "", dtype=object)
        for rule, mask in self.flags:
            if not rule.repair:
                hit = mask[bad]
                joined = np.where(labels[hit] == "", "", labels[hit] + "; ")
                labels[hit] = joined + str(rule)
        return frame.assign(row=np.flatnonzero(bad) + 1, rule=labels).reset_index(drop=True)

    def kept(self, name: str, keep: np.ndarray) -> pd.Series:
        return _take(self.values[name], keep)

    def extras(self, keep: np.ndarray) -> pd.DataFrame:
        extra = [c for c in self.raw.columns if c not in self.schema.column_names]
        if keep.all():  # the usual case: ``raw`` already has a fresh RangeIndex
            return self.raw[extra]
        return self.raw[extra].loc[keep].reset_index(drop=True)


def _take(values: pd.Series, keep: np.ndarray) -> pd.Series:
    return values.reset_index(drop=True) if keep.all() else values[keep].reset_index(drop=True)


def _empty(values: pd.Series) -> np.ndarray:
    return values.isna().to_numpy()


def _check_accounts(check: _Check) -> pd.DataFrame:
    ids = check.values["account_id"]
    check.flag(RowRule.ACCOUNT_ID_EMPTY, _empty(ids))
    check.flag(RowRule.ACCOUNT_ID_DUPLICATE, ids.duplicated().to_numpy() & ~_empty(ids))
    check.flag(RowRule.SIGNUP_DATE_INVALID, _empty(check.values["signup_date"]))
    keep = check.keep()
    fills = {"manager": "unassigned", "region": "unknown", "segment": "unknown"}
    columns = {
        "account_id": check.kept("account_id", keep),
        "signup_date": check.kept("signup_date", keep),
        **{
            name: (check.kept(name, keep) if name in check.values else _blank(keep)).fillna(fill)
            for name, fill in fills.items()
        },
    }
    return _frame(columns, check.extras(keep))


def _blank(keep: np.ndarray) -> pd.Series:
    return pd.Series(np.nan, index=range(int(keep.sum())), dtype=TEXT)


def _account_codes(ids: pd.Series, accounts: pd.Series) -> np.ndarray:
    """Position of each id in ``accounts`` (-1 when absent), hashing only distinct ids."""
    codes, uniques = pd.factorize(ids)
    lookup = pd.Index(accounts).get_indexer(uniques)
    return np.where(codes >= 0, lookup[codes], -1)


def _categorical(codes: np.ndarray, accounts: pd.Series) -> pd.Categorical:
    return pd.Categorical.from_codes(codes, categories=pd.Index(accounts).rename(None))


def _after(dates: pd.Series, end: pd.Timestamp | None) -> np.ndarray:
    """Dates on or after ``end`` (the day after the last plausible one); none without it."""
    if end is None:
        return np.zeros(len(dates), dtype=bool)
    return (dates >= end).to_numpy(dtype=bool, na_value=False)


def _check_orders(check: _Check, accounts: pd.Series, end: pd.Timestamp | None) -> pd.DataFrame:
    v = check.values
    codes = _account_codes(v["account_id"], accounts)
    quantity = v["quantity"].to_numpy()
    amount = v["amount"].to_numpy()
    order_date = v["order_date"]
    check.flag(RowRule.ORDER_ID_EMPTY, _empty(v["order_id"]))
    check.flag(RowRule.ORDER_ACCOUNT_UNKNOWN, codes < 0)
    check.flag(RowRule.ORDER_DATE_INVALID, _empty(order_date))
    check.flag(RowRule.ORDER_DATE_AFTER_AS_OF, _after(order_date, end))
    check.flag(RowRule.ORDER_CATEGORY_EMPTY, _empty(v["category"]))
    with np.errstate(invalid="ignore"):
        whole = (quantity > 0) & (quantity < 2.0**63) & (np.floor(quantity) == quantity)
    check.flag(RowRule.QUANTITY_INVALID, ~whole)
    check.flag(RowRule.AMOUNT_NOT_NUMBER, ~np.isfinite(amount))
    check.flag(RowRule.AMOUNT_NEGATIVE, np.isfinite(amount) & (amount < 0))
    check.flag(RowRule.AMOUNT_ABSURD, np.isfinite(amount) & (amount > ABSURD_AMOUNT))
    return_date = v.get("return_date", pd.Series(pd.NaT, index=order_date.index, dtype="M8[ns]"))
    if "returned" in v:
        check.flag(RowRule.RETURNED_INVALID, check.unparsed["returned"])
    if "return_date" in v:
        check.flag(RowRule.RETURN_DATE_INVALID, check.unparsed["return_date"])
        early = return_date.dt.normalize() < order_date.dt.normalize()
        check.flag(RowRule.RETURN_BEFORE_ORDER, early)
    keep = check.keep()
    # A missing 'returned' means false, unless a return date says the line came back.
    returned = v.get("returned", pd.Series(np.nan, index=order_date.index)).to_numpy()
    returned = np.where(np.isnan(returned), return_date.notna().to_numpy(), returned == 1.0)
    columns = {
        "order_id": check.kept("order_id", keep),
        "account_id": _categorical(codes[keep], accounts),
        "order_date": check.kept("order_date", keep),
        "category": check.kept("category", keep),
        **({"product_id": check.kept("product_id", keep)} if "product_id" in v else {}),
        "quantity": pd.Series(quantity[keep].astype(np.int64)),
        "amount": pd.Series(amount[keep]),
        "returned": pd.Series(returned[keep].astype(bool)),
        "return_date": _take(return_date, keep),
    }
    return _frame(columns, check.extras(keep))


def _check_interactions(
    check: _Check | None, accounts: pd.Series, end: pd.Timestamp | None
) -> pd.DataFrame:
    if check is None:
        return pd.DataFrame(
            {
                "account_id": _categorical(np.array([], dtype=np.int64), accounts),
                "event_date": pd.Series([], dtype="datetime64[ns]"),
                "event_type": pd.Series([], dtype=TEXT),
                "value": pd.Series([], dtype="float64"),
            }
        )
    v = check.values
    codes = _account_codes(v["account_id"], accounts)
    event_type = v["event_type"].str.lower()
    value = v["value"].to_numpy() if "value" in v else np.full(check.n, np.nan)
    is_nps = (event_type == "nps").to_numpy()
    is_ticket = (event_type == "ticket").to_numpy()
    check.flag(RowRule.INTERACTION_ACCOUNT_UNKNOWN, codes < 0)
    check.flag(RowRule.EVENT_DATE_INVALID, _empty(v["event_date"]))
    check.flag(RowRule.EVENT_DATE_AFTER_AS_OF, _after(v["event_date"], end))
    check.flag(RowRule.EVENT_TYPE_EMPTY, _empty(event_type))
    if "value" in v:
        check.flag(RowRule.VALUE_NOT_NUMBER, check.unparsed["value"] | np.isinf(value))
        with np.errstate(invalid="ignore"):
            check.flag(RowRule.VALUE_ABSURD, np.abs(value) > ABSURD_AMOUNT)
    with np.errstate(invalid="ignore"):
        check.flag(RowRule.NPS_OUT_OF_RANGE, is_nps & ~((value >= 0) & (value <= 10)))
        check.flag(RowRule.TICKET_NEGATIVE, is_ticket & (value < 0))
    keep = check.keep()
    columns = {
        "account_id": _categorical(codes[keep], accounts),
        "event_date": check.kept("event_date", keep),
        "event_type": _take(event_type, keep),
        "value": pd.Series(value[keep]),
    }
    return _frame(columns, check.extras(keep))


def _check_categories(check: _Check | None) -> pd.DataFrame:
    if check is None:
        empty = {
            "category": pd.Series([], dtype=TEXT),
            "margin_rate": pd.Series([], dtype=float),
            "label": pd.Series([], dtype=TEXT),
        }
        return pd.DataFrame(empty)
    category = check.values["category"]
    margin = check.values["margin_rate"].to_numpy()
    check.flag(RowRule.CATEGORY_EMPTY, _empty(category))
    check.flag(RowRule.CATEGORY_DUPLICATE, category.duplicated().to_numpy() & ~_empty(category))
    with np.errstate(invalid="ignore"):
        check.flag(RowRule.MARGIN_OUT_OF_RANGE, ~((margin >= 0) & (margin <= 1)))
    keep = check.keep()
    kept = check.kept("category", keep)
    # parse_column already stripped the labels and blanked the empty ones: only the missing
    # ones are made from the code (skipped when none is, as in a night's catalogue)
    given = check.kept("label", keep) if "label" in check.values else _blank(keep)
    missing = given.isna().to_numpy()
    label = given.fillna(kept.map(category_label, na_action="ignore")) if missing.any() else given
    columns = {"category": kept, "margin_rate": pd.Series(margin[keep]), "label": label}
    return _frame(columns, check.extras(keep))


def _with_ordered_categories(catalogue: pd.DataFrame, ordered: pd.Series) -> pd.DataFrame:
    """Ordered categories missing from the catalogue join it with margin 1.0 (no margin
    known means revenue counts in full, as for an absent catalogue); nothing is reported."""
    missing = pd.Index(ordered.unique()).difference(pd.Index(catalogue["category"]))
    missing = missing.sort_values()  # difference() skips sorting when the catalogue is empty
    if missing.empty:
        return catalogue
    added = pd.DataFrame(
        {
            "category": pd.Series(missing, dtype=TEXT),
            "margin_rate": np.ones(len(missing)),
            "label": pd.Series([category_label(c) for c in missing], dtype=TEXT),
        }
    )
    return pd.concat([catalogue, added], ignore_index=True)


def _clamp_signup(check: _Check, accounts: pd.DataFrame, orders: pd.DataFrame) -> pd.DataFrame:
    """Report signups after the first order and move them to that order's day (see
    ``RowRule.SIGNUP_AFTER_FIRST_ORDER``): the account and its orders stay."""
    never = np.iinfo(np.int64).max
    first = np.full(len(accounts), never, dtype=np.int64)
    dates = orders["order_date"].to_numpy(dtype="datetime64[ns]").view(np.int64)
    np.minimum.at(first, orders["account_id"].cat.codes.to_numpy(), dates)
    ordered = first != never
    day = np.int64(86_400 * 10**9)
    first = np.where(ordered, first // day * day, never)  # the first order's calendar day
    signup = accounts["signup_date"].to_numpy(dtype="datetime64[ns]").view(np.int64)
    late = ordered & (signup > first)
    if not late.any():
        return accounts
    broken = np.zeros(check.n, dtype=bool)
    broken[np.flatnonzero(check.keep())[late]] = True
    check.flag(RowRule.SIGNUP_AFTER_FIRST_ORDER, broken)
    clamped = np.where(late, first, signup).view("datetime64[ns]")
    return accounts.assign(signup_date=pd.Series(clamped, index=accounts.index))


def _frame(columns: dict[str, pd.Series | pd.Categorical], extras: pd.DataFrame) -> pd.DataFrame:
    frame = pd.DataFrame({k: _series(v) for k, v in columns.items()})
    return pd.concat([frame, extras], axis=1) if len(extras.columns) else frame


def _series(values: pd.Series | pd.Categorical) -> pd.Series:
    if isinstance(values, pd.Categorical):
        return pd.Series(values)
    return values.reset_index(drop=True)
