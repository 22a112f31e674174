"""Validated demo tables for the benchmarks, generated once per size and cached as Parquet.

Generating and validating 1M accounts takes minutes; the benchmarks measure what comes
after, so they load the validated ``Tables`` from a cache and only generate on a miss.
"""

from __future__ import annotations

import json
import time
from dataclasses import dataclass
from pathlib import Path

import pandas as pd

from kam_ml.data.tables import Tables
from kam_ml.data.validation import validate_tables
from kam_ml.demo.generate import generate_demo_data

__all__ = ["Prepared", "cached_tables"]

_TABLES = ("accounts", "orders", "interactions", "categories")
_CODED = ("orders", "interactions")  # their account_id is a Categorical over accounts


@dataclass(frozen=True)
class Prepared:
    """Validated tables and what it cost to make them (timed when they were generated)."""

    tables: Tables
    generation_s: float
    validation_s: float
    load_s: float
    from_cache: bool


def cached_tables(n_accounts: int, seed: int, cache_dir: Path) -> Prepared:
    """Tables for ``n_accounts`` demo accounts; generated, validated and cached on a miss."""
    folder = Path(cache_dir) / f"accounts_{n_accounts}_seed_{seed}"
    meta_path = folder / "meta.json"
    from_cache = meta_path.is_file()
    if not from_cache:
        _generate(n_accounts, seed, folder)
    meta = json.loads(meta_path.read_text(encoding="utf-8"))
    start = time.perf_counter()
    tables = _read(folder)
    return Prepared(
        tables=tables,
        generation_s=meta["generation_s"],
        validation_s=meta["validation_s"],
        load_s=time.perf_counter() - start,
        from_cache=from_cache,
    )


def _generate(n_accounts: int, seed: int, folder: Path) -> None:
    start = time.perf_counter()
    demo = generate_demo_data(n_accounts, seed=seed)
    generated = time.perf_counter()
    raw = {name: getattr(demo, name) for name in _TABLES}
    del demo
    tables = validate_tables(raw, on_bad_rows="quarantine").tables
    validated = time.perf_counter()
    del raw
    folder.mkdir(parents=True, exist_ok=True)
    for name in _TABLES:
        frame = getattr(tables, name)
        if name in _CODED:
            # Parquet dictionaries do not promise to keep unused categories or their order;
            # the integer codes do, and the accounts table restores the categories.
            frame = frame.assign(account_id=frame["account_id"].cat.codes.to_numpy())
        frame.to_parquet(folder / f"{name}.parquet", index=False)
    meta = {
        "n_accounts": n_accounts,
        "seed": seed,
        "order_lines": len(tables.orders),
        "interactions": len(tables.interactions),
        "generation_s": generated - start,
        "validation_s": validated - generated,
    }
    (folder / "meta.json").write_text(json.dumps(meta, indent=2), encoding="utf-8")


def _read(folder: Path) -> Tables:
    frames = {name: pd.read_parquet(folder / f"{name}.parquet") for name in _TABLES}
    account_ids = pd.Index(frames["accounts"]["account_id"]).rename(None)
    for name in _CODED:
        frame = frames[name]
        codes = frame["account_id"].to_numpy()
        frame["account_id"] = pd.Categorical.from_codes(codes, categories=account_ids)
        for column in frame.columns:
            if frame[column].dtype.kind == "M":
                frame[column] = frame[column].astype("datetime64[ns]")
    frames["accounts"]["signup_date"] = frames["accounts"]["signup_date"].astype("datetime64[ns]")
    return Tables(**frames)
