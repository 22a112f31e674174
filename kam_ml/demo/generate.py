"""A seeded generator of a luxury key-account book with planted, known churn truth.

Why a simulator: a model can only be judged against the truth it tries to recover, and here
that truth is written down. Accounts live on a weekly grid. Each week a client may leave,
with a hazard that is a logistic function of things a model can see in its history:
complaints, slow tickets and returns, low NPS answers, a decline in its own orders (the law
and its weights are in ``kam_ml.demo.hazard``). Dissatisfied clients also buy less before
they leave. A client who has left places no more orders (though it may complain for a few
weeks); one who stays buys as an Erlang renewal process (regular buyers rarely go quiet by
chance) at its base rate x seasonality (Q4 peak, summer dip) x a slow "thinning" for some
accounts. Category preferences drift from one Dirichlet draw to another over the years.

Clients react to their experience one horizon late (``reaction_steps``). That is what
makes the oracle exact instead of sampled: at a cutoff T, every hazard and order rate of
the weeks up to T + horizon is already fixed by the latent state at T, so the probability
of "no order in (T, T + horizon]" is a finite sum over the week the client may leave in
(``kam_ml.demo.oracle``).

``generate_demo_data`` returns raw, contract-shaped frames (what a retailer would export)
and ``truth``: per cutoff and active account, that Bayes-optimal probability and the
realised label. ``DemoData.write`` keeps the truth in a ``truth/`` subfolder so that a
loader never mistakes it for a contract table.

This module is the public face and the export; the generator is split by job::

    demo_catalogue  the static world: categories, prices, segments, regions, names
    demo_book       the weekly calendar and each account's fixed latent parameters
    demo_hazard     the planted churn law: memories, weekly log-odds, reaction delay
    demo_events     what a week writes down: order lines, service events, surveys
    demo_process    the weekly loop: departures, Erlang order placement, memory
    demo_oracle     the closed-form P(no order in the horizon) at each cutoff
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc

from kam_ml.demo.book import STEP_DAYS, Book, Calendar, draw_book
from kam_ml.demo.catalogue import CATEGORIES, REGIONS, SEGMENTS, manager_names
from kam_ml.demo.events import EVENT_TYPES, PRODUCTS_PER_CATEGORY, Simulation
from kam_ml.demo.hazard import reaction_steps
from kam_ml.demo.offers import plant_offer_structure
from kam_ml.demo.process import simulate
from kam_ml.errors import require_positive_int
from kam_ml.pandas_compat import TEXT, arrow_to_pandas
from kam_ml.parquet import write_parquet

__all__ = ["DemoData", "generate_demo_data"]

_MISSING_MANAGER = 0.02


@dataclass(frozen=True)
class DemoData:
    """The generated book: four contract tables as exported, and the oracle truth.

    ``truth`` has one row per (cutoff, account active at the cutoff): ``account_id``,
    ``cutoff``, ``true_churn_probability`` (Bayes-optimal given the full latent state),
    ``churned`` (the realised contract label), and latent drivers: ``alive`` (still a
    client at the cutoff), ``departure_probability`` (gone by the end of the horizon),
    ``expected_orders`` (in the horizon if it stays), ``latent_rate`` (orders per week,
    seasonality aside) and ``dissatisfaction``.
    """

    accounts: pd.DataFrame
    orders: pd.DataFrame
    interactions: pd.DataFrame
    categories: pd.DataFrame
    truth: pd.DataFrame

    def raw_tables(self) -> dict[str, pd.DataFrame]:
        """The four contract tables by name, as a loader would read them (no truth)."""
        return {
            "accounts": self.accounts,
            "orders": self.orders,
            "interactions": self.interactions,
            "categories": self.categories,
        }

    def write(self, out_dir: Path, fmt: Literal["parquet", "csv"] = "parquet") -> None:
        """Write the contract tables to ``out_dir`` and the truth to ``out_dir/truth``.

        The truth sits in a subfolder because a loader reads the table files at the top
        level; an oracle next to the inputs would be one glob away from leaking into a model.
        """
        if fmt not in ("parquet", "csv"):
            raise ValueError(
                f"The 'fmt' of DemoData.write must be 'parquet' or 'csv'. Got {fmt!r} instead."
            )
        out_dir = Path(out_dir)
        (out_dir / "truth").mkdir(parents=True, exist_ok=True)
        tables = {
            "accounts": self.accounts,
            "orders": self.orders,
            "interactions": self.interactions,
            "categories": self.categories,
            "truth/churn_truth": self.truth,
        }
        for name, frame in tables.items():
            path = out_dir / f"{name}.{fmt}"
            if fmt == "parquet":
                write_parquet(frame, path)
            else:
                frame.to_csv(path, index=False, date_format="%Y-%m-%dT%H:%M:%S")


def generate_demo_data(
    n_accounts: int = 2000,
    seed: int = 0,
    end_date: str | pd.Timestamp = "2026-10-31",
    years: float = 3.0,
    truth_cutoffs: Sequence[pd.Timestamp] | None = None,
    horizon_days: int = 90,
) -> DemoData:
    """Simulate ``years`` of history up to ``end_date`` for ``n_accounts`` accounts.

    Same seed, same frames. ``truth_cutoffs`` default to the month-ends of the last twelve
    months whose horizon ends by ``end_date``; the oracle needs the whole horizon inside
    the history, so later cutoffs are refused. ``horizon_days`` also sets the clients'
    reaction delay (see the module docstring), so change it only together with the
    horizon the models are trained for.
    """
    require_positive_int("generate_demo_data", "n_accounts", n_accounts)
    require_positive_int("generate_demo_data", "horizon_days", horizon_days)
    if not isinstance(seed, int | np.integer) or isinstance(seed, bool) or seed < 0:
        raise ValueError(
            f"The 'seed' of generate_demo_data must be a non-negative int. Got {seed!r} instead."
        )
    end = pd.Timestamp(end_date).normalize()
    reaction = reaction_steps(horizon_days)
    n_steps = int(round(float(years) * 365.25 / STEP_DAYS))
    if n_steps < 2 * reaction:
        raise ValueError(
            f"The 'years' of generate_demo_data must cover at least two horizons "
            f"({2 * reaction * STEP_DAYS} days for horizon_days={horizon_days}). "
            f"Got {years!r} instead."
        )
    calendar = Calendar(end + pd.Timedelta(days=1 - n_steps * STEP_DAYS), n_steps)
    cutoffs = _truth_cutoffs(truth_cutoffs, calendar, end, horizon_days)
    rng = np.random.default_rng(seed)
    book = draw_book(n_accounts, calendar, rng)
    sim = simulate(book, calendar, cutoffs, horizon_days, reaction, rng)
    account_ids = _Ids("A", width=max(6, len(str(n_accounts - 1))))
    accounts = _accounts_frame(book, account_ids, calendar, rng)
    orders = _orders_frame(sim, account_ids, calendar, rng)
    return DemoData(
        accounts=accounts,
        orders=plant_offer_structure(orders, accounts, seed),  # cross-selling truth
        interactions=_interactions_frame(sim, account_ids, calendar),
        categories=pd.DataFrame(
            {
                "category": pd.array([c.name for c in CATEGORIES], dtype=TEXT),
                "margin_rate": np.array([c.margin_rate for c in CATEGORIES]),
            }
        ),
        truth=_truth_frame(sim, book.n, account_ids, calendar, cutoffs, horizon_days),
    )


def _truth_cutoffs(
    requested: Sequence[pd.Timestamp] | None,
    calendar: Calendar,
    end: pd.Timestamp,
    horizon_days: int,
) -> list[pd.Timestamp]:
    horizon = pd.Timedelta(days=horizon_days)
    if requested is None:
        year_ago = end - pd.DateOffset(months=12)
        month_ends = pd.date_range(year_ago, end, freq="ME")
        return [
            m for m in month_ends if year_ago < m and m + horizon <= end and m >= calendar.start
        ]
    cutoffs = sorted({pd.Timestamp(c).normalize() for c in requested})
    bad = [c for c in cutoffs if c + horizon > end or c < calendar.start]
    if bad:
        raise ValueError(
            f"The 'truth_cutoffs' of generate_demo_data must lie in "
            f"[{calendar.start.date()}, {(end - horizon).date()}] so that their horizon ends "
            f"inside the history. Got {[str(c.date()) for c in bad]} instead."
        )
    return cutoffs


# -- frames as a retailer would export them ---------------------------------------------
_QUAD_BYTES = np.array([list(f"{i:04d}".encode()) for i in range(10_000)], dtype=np.uint8)
_QUAD_WORDS = _QUAD_BYTES.view("<u4").ravel()


@dataclass(frozen=True)
class _Ids:
    """Fixed-width ids such as ``A000123``, written straight into an Arrow string buffer.

    Formatting 20M ids through Python or Arrow's cast/pad/join costs seconds and three
    intermediate string arrays; four digits at a time from a lookup table costs neither.
    """

    prefix: str
    width: int

    def __call__(self, numbers: np.ndarray) -> pa.Array:
        n_quads, rest = divmod(self.width, 4)
        fields = [("prefix", f"S{len(self.prefix)}")]
        fields += [("rest", f"S{rest}")] if rest else []
        fields += [(f"quad{i}", "<u4") for i in range(n_quads)]
        rows = np.empty(len(numbers), dtype=np.dtype(fields))  # packed: one id per row
        rows["prefix"] = self.prefix.encode()
        x: np.ndarray[Any, np.dtype[np.unsignedinteger[Any]]] = np.asarray(numbers).astype(
            np.uint32 if self.width <= 9 else np.uint64
        )
        for i in reversed(range(n_quads)):
            quotient = x // 10_000
            rows[f"quad{i}"] = _QUAD_WORDS[x - quotient * 10_000]
            x = quotient
        if rest:
            leading = np.ascontiguousarray(_QUAD_BYTES[x][:, 4 - rest :])
            rows["rest"] = leading.view(f"S{rest}")[:, 0]
        size = rows.dtype.itemsize
        small = (len(rows) + 1) * size < 2**31  # Arrow's string offsets are int32
        offsets = np.arange(0, (len(rows) + 1) * size, size, dtype=np.int32 if small else np.int64)
        buffers = [None, pa.py_buffer(offsets), pa.py_buffer(rows.view(np.uint8))]
        return pa.Array.from_buffers(
            pa.string() if small else pa.large_string(), len(rows), buffers
        )


def _timestamps(
    calendar: Calendar, day: np.ndarray, seconds: np.ndarray, mask: np.ndarray | None = None
) -> pa.Array:
    return pa.array(calendar.nanoseconds(day, seconds), type=pa.timestamp("ns"), mask=mask)


def _accounts_frame(
    book: Book, account_ids: _Ids, calendar: Calendar, rng: np.random.Generator
) -> pd.DataFrame:
    names = manager_names(book.n_managers, rng)[book.manager]
    missing = rng.random(book.n) < _MISSING_MANAGER
    # exports show both spellings of "unassigned": an empty cell and a null
    empty = missing & (rng.random(book.n) < 0.5)
    names[empty] = ""
    names[missing & ~empty] = None
    table = pa.table(
        {
            "account_id": account_ids(np.arange(book.n)),
            "signup_date": _timestamps(calendar, book.signup_day, np.zeros(book.n)),
            "manager": pa.array(names, type=pa.string()),
            "region": pc.take(pa.array([r for r, _ in REGIONS]), book.region),
            "segment": pc.take(pa.array([s.name for s in SEGMENTS]), book.segment),
        }
    )
    return arrow_to_pandas(table)


def _orders_frame(
    sim: Simulation, account_ids: _Ids, calendar: Calendar, rng: np.random.Generator
) -> pd.DataFrame:
    category = sim.take("lines", "category").astype(np.int32)
    product = sim.take("lines", "product") + category * PRODUCTS_PER_CATEGORY
    # a return registered after the export date has not happened, as far as the data knows
    return_day = sim.take("lines", "return_day")
    returned = sim.take("lines", "returned") & (return_day < calendar.n_days)
    dated = returned & sim.take("lines", "return_dated")
    return_seconds = rng.integers(10 * 3600, 18 * 3600, size=len(return_day))
    codes = [f"{c.code}-{p:04d}" for c in CATEGORIES for p in range(PRODUCTS_PER_CATEGORY)]
    table = pa.table(
        {
            "order_id": _Ids("O", 9)(sim.take("lines", "order")),
            "account_id": account_ids(sim.take("lines", "account")),
            "order_date": _timestamps(
                calendar, sim.take("lines", "day"), sim.take("lines", "seconds")
            ),
            "category": pc.take(pa.array([c.name for c in CATEGORIES]), category),
            "product_id": pc.take(pa.array(codes), product),
            "quantity": sim.take("lines", "quantity").astype(np.int64),
            "amount": sim.take("lines", "amount"),
            "returned": returned,
            "return_date": _timestamps(calendar, return_day, return_seconds, mask=~dated),
        }
    )
    return arrow_to_pandas(table)


def _interactions_frame(sim: Simulation, account_ids: _Ids, calendar: Calendar) -> pd.DataFrame:
    day = sim.take("events", "day")
    keep = np.flatnonzero(day < calendar.n_days)  # filed after the export: not in the data
    ns = calendar.nanoseconds(day[keep], sim.take("events", "seconds")[keep])
    by_time = np.argsort(ns, kind="stable")
    rows = keep[by_time]
    value = sim.take("events", "value")[rows].astype(np.float64)
    table = pa.table(
        {
            "account_id": account_ids(sim.take("events", "account")[rows]),
            "event_date": pa.array(ns[by_time], type=pa.timestamp("ns")),
            "event_type": pc.take(pa.array(EVENT_TYPES), sim.take("events", "kind")[rows]),
            "value": pa.array(value, mask=np.isnan(value)),
        }
    )
    return arrow_to_pandas(table)


def _truth_frame(
    sim: Simulation,
    n: int,
    account_ids: _Ids,
    calendar: Calendar,
    cutoffs: list[pd.Timestamp],
    horizon_days: int,
) -> pd.DataFrame:
    """One row per (cutoff, account active at it), with the realised contract label.

    Active and churned are recomputed from the generated order days with the contract's
    rules: an order on grid day d is dated within calendar day d, the active window is the
    365 days up to and including T, and the label window (T, T + H] covers days T+1 .. T+H.
    """
    order_account = sim.take("orders", "account")
    order_day = sim.take("orders", "day")
    frames = []
    for cutoff in cutoffs:
        t = calendar.day(cutoff)
        active = np.zeros(n, dtype=bool)
        active[order_account[(order_day <= t) & (order_day > t - 365)]] = True
        ordered = np.zeros(n, dtype=bool)
        ordered[order_account[(order_day > t) & (order_day <= t + horizon_days)]] = True
        rows = np.flatnonzero(active)
        oracle = sim.oracle[cutoff]
        columns = {
            "account_id": account_ids(rows),
            "cutoff": pa.array(np.full(len(rows), cutoff.value), type=pa.timestamp("ns")),
            "true_churn_probability": oracle["true_churn_probability"][rows],
            "churned": ~ordered[rows],
        }
        columns.update({name: oracle[name][rows] for name in _TRUTH_SCHEMA.names[4:]})
        frames.append(pa.table(columns, schema=_TRUTH_SCHEMA))
    return arrow_to_pandas(pa.concat_tables([_TRUTH_SCHEMA.empty_table(), *frames]))


_TRUTH_SCHEMA = pa.schema(
    [
        ("account_id", pa.string()),
        ("cutoff", pa.timestamp("ns")),
        ("true_churn_probability", pa.float64()),
        ("churned", pa.bool_()),
        ("alive", pa.bool_()),
        ("departure_probability", pa.float64()),
        ("expected_orders", pa.float64()),
        ("latent_rate", pa.float64()),
        ("dissatisfaction", pa.float64()),
    ]
)
