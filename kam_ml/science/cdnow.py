"""CDNOW, a real customer base, converted into the data contract.

The CDNOW master file (23,570 customers who first bought from the CD retailer CDNOW in the
first quarter of 1997, followed to 1998-06-30) is the standard benchmark of the
customer-base literature (Fader, Hardie & Lee 2005). It ships inside the PyPI wheel of
``lifetimes``; ``fetch_cdnow`` downloads that wheel through pip into a cache folder and
extracts the two text files, but only when called: nothing here touches the network at
import, and ``load_cdnow`` reads a local file only.

File formats (whitespace separated, dates as YYYYMMDD):

``CDNOW_master.txt``  header ``customer_id date number_of_cds dollar_value``, one row per
                      transaction.
``CDNOW_sample.txt``  no header; ``master_id sample_id date number_of_cds dollar_value`` for
                      the 1/10 sample of 2,357 customers used in the paper.
"""

from __future__ import annotations

import subprocess
import sys
import zipfile
from pathlib import Path

import pandas as pd

from kam_ml.data.tables import Tables
from kam_ml.data.validation import validate_tables
from kam_ml.errors import DataContractError, DownloadError

__all__ = [
    "CDNOW_CATEGORY",
    "CDNOW_END",
    "CDNOW_MASTER",
    "CDNOW_SAMPLE",
    "cached_cdnow",
    "default_cache_dir",
    "fetch_cdnow",
    "load_cdnow",
    "load_cdnow_tables",
    "read_cdnow_transactions",
]

CDNOW_MASTER = "CDNOW_master.txt"
CDNOW_SAMPLE = "CDNOW_sample.txt"
CDNOW_CATEGORY = "music"
CDNOW_END = pd.Timestamp("1998-06-30")  # last day of the published observation window
_WHEEL_PACKAGE = "lifetimes==0.11.3"
_WHEEL_MEMBER = "lifetimes/datasets/{name}"
_COLUMNS = ("customer_id", "date", "number_of_cds", "dollar_value")


def default_cache_dir() -> Path:
    """``~/.cache/kam-ml``: where ``fetch_cdnow`` keeps the wheel and the extracted files."""
    return Path.home() / ".cache" / "kam-ml"


def cached_cdnow(cache_dir: Path | None = None, name: str = CDNOW_MASTER) -> Path | None:
    """The extracted CDNOW file if an earlier ``fetch_cdnow`` left it in the cache, else None.

    Never downloads: tests and notebooks use it to skip when the file is not there.
    """
    cache_dir = Path(cache_dir) if cache_dir is not None else default_cache_dir()
    path = cache_dir / "cdnow" / name
    if path.is_file():
        return path
    wheel = _find_wheel(cache_dir)
    return _extract(wheel, cache_dir, name) if wheel is not None else None


def fetch_cdnow(cache_dir: Path | None = None, name: str = CDNOW_MASTER) -> Path:
    """Download the ``lifetimes`` wheel with pip (no dependencies) and extract a CDNOW file.

    Runs ``python -m pip download --no-deps lifetimes==0.11.3`` only when the file is not
    cached yet; the wheel is a zip, so nothing of lifetimes is installed or imported. Raises
    ``DownloadError`` when pip fails or the wheel lacks the file: the network or the index
    is at fault, not the user's data.
    """
    cache_dir = Path(cache_dir) if cache_dir is not None else default_cache_dir()
    cached = cached_cdnow(cache_dir, name)
    if cached is not None:
        return cached
    cache_dir.mkdir(parents=True, exist_ok=True)
    command = [sys.executable, "-m", "pip", "download", "--no-deps", _WHEEL_PACKAGE]
    command += ["--only-binary", ":all:", "-d", str(cache_dir)]
    completed = subprocess.run(command, capture_output=True, text=True, check=False)
    wheel = _find_wheel(cache_dir)
    if completed.returncode != 0 or wheel is None:
        raise DownloadError(
            f"Could not download the CDNOW data ({' '.join(command)} exited with "
            f"{completed.returncode}): {completed.stderr.strip()[-500:]}"
        )
    return _extract(wheel, cache_dir, name)


def read_cdnow_transactions(path: Path) -> pd.DataFrame:
    """One row per transaction: customer_id (str), date, number_of_cds (int), dollar_value.

    Reads both layouts (master with header, sample with the extra sample id column);
    ``customer_id`` is always the master file's id so sample and master rows agree.
    """
    path = Path(path)
    if not path.is_file():
        raise DataContractError(f"The CDNOW file {path} does not exist.")
    raw = pd.read_csv(path, sep=r"\s+", header=None, dtype=str, engine="python")
    if len(raw) and not raw.iloc[0, -1].replace(".", "", 1).isdigit():
        raw = raw.iloc[1:]  # the master file's header line
    if raw.shape[1] == 5:
        raw = raw.drop(columns=raw.columns[1])
    if raw.shape[1] != 4:
        raise DataContractError(
            f"{path} is not a CDNOW file: expected 4 columns ({', '.join(_COLUMNS)}) or 5 "
            f"(with a sample id); found {raw.shape[1]}."
        )
    raw.columns = list(_COLUMNS)
    dates = pd.to_datetime(raw["date"], format="%Y%m%d", errors="coerce")
    cds = pd.to_numeric(raw["number_of_cds"], errors="coerce")
    dollars = pd.to_numeric(raw["dollar_value"], errors="coerce")
    bad = dates.isna() | cds.isna() | dollars.isna()
    if bad.any():
        examples = ", ".join(raw.loc[bad, "customer_id"].head(3))
        raise DataContractError(
            f"{path}: {int(bad.sum())} rows have an unparseable date, number_of_cds or "
            f"dollar_value (customer_id {examples})."
        )
    return pd.DataFrame(
        {
            "customer_id": raw["customer_id"].str.strip().to_numpy(),
            "date": dates.to_numpy(),
            "number_of_cds": cds.astype("int64").to_numpy(),
            "dollar_value": dollars.astype("float64").to_numpy(),
        }
    )


def load_cdnow(path: Path) -> dict[str, pd.DataFrame]:
    """The CDNOW file as raw contract tables (accounts and orders; no interactions).

    accounts: signup_date is the first purchase (CDNOW's cohort is defined by it), manager
    ``unassigned`` and region ``unknown`` (the data has neither). orders: one line per
    transaction, category ``music``, amount the dollar value, quantity the number of CDs.
    """
    transactions = read_cdnow_transactions(path)
    first = transactions.groupby("customer_id", sort=True)["date"].min()
    accounts = pd.DataFrame(
        {
            "account_id": first.index.to_numpy(dtype=object),
            "signup_date": first.to_numpy(),
            "manager": "unassigned",
            "region": "unknown",
        }
    )
    line = transactions.groupby("customer_id").cumcount() + 1
    orders = pd.DataFrame(
        {
            "order_id": transactions["customer_id"] + "-" + line.astype(str).str.zfill(3),
            "account_id": transactions["customer_id"].to_numpy(),
            "order_date": transactions["date"].to_numpy(),
            "category": CDNOW_CATEGORY,
            "quantity": transactions["number_of_cds"].to_numpy(),
            "amount": transactions["dollar_value"].to_numpy(),
        }
    )
    return {"accounts": accounts, "orders": orders}


def load_cdnow_tables(path: Path) -> Tables:
    """``load_cdnow`` through the package's own validation: the tables training reads."""
    return validate_tables(load_cdnow(path), on_bad_rows="refuse").tables


def _find_wheel(cache_dir: Path) -> Path | None:
    if not cache_dir.is_dir():
        return None
    wheels = sorted(cache_dir.glob("[Ll]ifetimes-0.11.3-*.whl"))
    return wheels[-1] if wheels else None


def _extract(wheel: Path, cache_dir: Path, name: str) -> Path:
    target = cache_dir / "cdnow" / name
    target.parent.mkdir(parents=True, exist_ok=True)
    try:
        with zipfile.ZipFile(wheel) as archive:
            data = archive.read(_WHEEL_MEMBER.format(name=name))
    except (zipfile.BadZipFile, KeyError) as error:
        raise DownloadError(f"{wheel} holds no {name}: {error}") from error
    tmp = target.with_suffix(".tmp")
    tmp.write_bytes(data)
    tmp.replace(target)
    return target
