"""A real book, trained and scored once per session, and a real uvicorn server over it.

Demo data (~800 accounts) -> the churn, offers and value training pipelines into a
temporary MLflow SQLite store -> two nightly runs (the day before and the last day, so
the second has a previous night) -> the API served by uvicorn in a thread on a free
loopback port.
"""

from __future__ import annotations

import math
import shutil
import socket
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import pandas as pd
import pytest
import uvicorn

from kam_ml.churn.job import train_and_register_churn
from kam_ml.data.tables import Tables
from kam_ml.data.validation import load_tables
from kam_ml.demo.generate import generate_demo_data
from kam_ml.nightly.job import NightlyResult, run_nightly
from kam_ml.offers.job import train_and_register_offers
from kam_ml.problem.definition import ProblemDefinition
from kam_ml.registry.champions import ChampionSource
from kam_ml.registry.tracking import TrackingStore
from kam_ml.value.job import train_and_register_value
from serving.app import create_app
from serving.settings import ServingSettings

API_KEY = "test-key-1"
OTHER_KEY = "test-key-2"


@dataclass(frozen=True)
class Book:
    root: Path
    data: Path
    tables: Tables
    tracking_uri: str
    models_dir: Path
    nightly_dir: Path
    first: NightlyResult
    second: NightlyResult

    def settings(self, nightly_dir: Path | None = None, **changes: object) -> ServingSettings:
        values = {
            "api_keys": f"{API_KEY},{OTHER_KEY}",
            "nightly_dir": nightly_dir or self.nightly_dir,
            "tracking_uri": self.tracking_uri,
            "models_dir": self.models_dir,
            "reload_interval_seconds": 0.2,
        } | changes
        return ServingSettings(**values)  # type: ignore[arg-type]


@pytest.fixture(scope="session")
def book(tmp_path_factory: pytest.TempPathFactory) -> Book:
    root = tmp_path_factory.mktemp("book")
    data = root / "data"
    generate_demo_data(n_accounts=800, seed=3).write(data)
    tables = load_tables(str(data)).tables
    tracking_uri = f"sqlite:///{root / 'mlflow.db'}"
    as_of = tables.last_date()
    store = TrackingStore(tracking_uri)
    for train in (train_and_register_churn, train_and_register_offers, train_and_register_value):
        train(
            tables,
            as_of,
            ProblemDefinition(),
            store,
            models_dir=root / "models",
            report_dir=root / "reports" / train.__name__,
        )
    source = ChampionSource(tracking_uri=tracking_uri, models_dir=root / "models")
    nightly_dir = root / "nightly"
    first = run_nightly(str(data), nightly_dir, source, as_of=as_of - pd.Timedelta(days=1))
    second = run_nightly(str(data), nightly_dir, source, as_of=as_of)
    return Book(root, data, tables, tracking_uri, root / "models", nightly_dir, first, second)


class ThreadServer(uvicorn.Server):
    """uvicorn in a background thread, bound to a socket we chose (a free port)."""

    def install_signal_handlers(self) -> None:  # signals belong to the main thread
        pass


@contextmanager
def running(settings: ServingSettings, app: Any = None) -> Iterator[str]:
    """Serve ``app`` (default: ``create_app(settings)``) until the block ends; yields the
    base URL."""
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.bind(("127.0.0.1", 0))
    port = sock.getsockname()[1]
    app = app if app is not None else create_app(settings)
    server = ThreadServer(uvicorn.Config(app, log_level="warning"))
    thread = threading.Thread(target=server.run, kwargs={"sockets": [sock]}, daemon=True)
    thread.start()
    deadline = time.monotonic() + 60
    while not server.started:
        if not thread.is_alive() or time.monotonic() > deadline:
            raise RuntimeError("uvicorn did not start")
        time.sleep(0.05)
    try:
        yield f"http://127.0.0.1:{port}"
    finally:
        server.should_exit = True
        thread.join(timeout=10)
        sock.close()


@pytest.fixture(scope="session")
def base_url(book: Book) -> Iterator[str]:
    with running(book.settings()) as url:
        yield url


@pytest.fixture
def client(base_url: str) -> Iterator[httpx.Client]:
    with httpx.Client(base_url=base_url, headers={"X-API-Key": API_KEY}, timeout=30) as http:
        yield http


@pytest.fixture
def anonymous(base_url: str) -> Iterator[httpx.Client]:
    with httpx.Client(base_url=base_url, timeout=30) as http:
        yield http


def history_body(book: Book, account_id: str) -> dict:
    """One account's contract rows as the from-history endpoint takes them (floats exact:
    ``to_json`` would round them to 10 digits and the reasons' values would differ)."""
    raw = {
        name: pd.read_parquet(book.data / f"{name}.parquet")
        for name in ("accounts", "orders", "interactions")
    }
    account = raw["accounts"].loc[raw["accounts"]["account_id"] == account_id].iloc[0]

    def rows(name: str) -> list[dict]:
        frame = raw[name].loc[raw[name]["account_id"] == account_id].drop(columns="account_id")
        return [{k: _json_value(v) for k, v in row.items()} for row in frame.to_dict("records")]

    return {
        "account": {
            "account_id": account_id,
            "signup_date": str(pd.Timestamp(account["signup_date"]).date()),
            "manager": _json_value(account["manager"]),
            "region": account["region"],
            "segment": _json_value(account["segment"]),
        },
        "orders": rows("orders"),
        "interactions": rows("interactions"),
    }


def _json_value(value: object) -> object:
    if value is None or (isinstance(value, float) and math.isnan(value)) or value is pd.NaT:
        return None
    if isinstance(value, pd.Timestamp):
        return value.isoformat()
    if hasattr(value, "item"):
        return value.item()
    return value


@pytest.fixture(scope="session")
def history_of(book: Book):  # type: ignore[no-untyped-def]
    """``history_of(account_id)``: the from-history request body for one demo account."""
    return lambda account_id: history_body(book, account_id)


def copy_night(source: Path, out_dir: Path) -> Path:
    """Publish a copy of a night into ``out_dir`` the way the job does (staging + rename)."""
    staging = out_dir / f".{source.name}.staging-copy"
    shutil.copytree(source, staging)
    final = out_dir / source.name
    staging.rename(final)
    return final
