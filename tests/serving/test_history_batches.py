"""Posted histories are scored together, yet every one gets the answer it gets alone.

``serving.history_batches`` scores the histories that wait together in one pass (the
from-history throughput comes from that); these tests hold it to being invisible: the same
numbers, reasons and offers, a bad history refused by itself with its own message, and
the same account posted twice at once answered twice.
"""

from __future__ import annotations

import os
import re
import signal
import subprocess
import sys
import time
from concurrent.futures import ThreadPoolExecutor

import httpx
import pandas as pd
import psutil
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from kam_ml.scoring.history import score_histories
from serving.app import create_app
from serving.state import ServingState
from tests.serving.conftest import API_KEY, running

HEADERS = {"X-API-Key": API_KEY}


@pytest.fixture(scope="module")
def active_ids(book) -> list[str]:
    scores = pd.read_parquet(book.second.directory / "scores.parquet")
    return scores["account_id"].astype(str).tolist()[:40]


@pytest.fixture(scope="module")
def bodies(book, active_ids, history_of) -> dict[str, dict]:
    """12 active accounts' histories, one that breaks a rule and one of a lapsed account."""
    chosen = {account: history_of(account) for account in active_ids[:12]}
    broken = history_of(active_ids[12])
    broken["orders"][0]["amount"] = -5.0
    chosen["broken"] = broken
    scored = set(
        pd.read_parquet(book.second.directory / "scores.parquet")["account_id"].astype(str)
    )
    lapsed = next(a for a in book.tables.accounts["account_id"].astype(str) if a not in scored)
    chosen["lapsed"] = history_of(lapsed)
    return chosen


def _batch_sizes(http: httpx.Client) -> tuple[float, float]:
    """(passes, histories) the batcher has scored so far, from /metrics."""
    text = http.get("/metrics").text
    count = re.search(r"^kam_history_batch_size_count (\S+)", text, re.M)
    total = re.search(r"^kam_history_batch_size_sum (\S+)", text, re.M)
    return float(count.group(1)), float(total.group(1))  # type: ignore[union-attr]


def test_histories_posted_at_once_get_the_answers_each_gets_alone(book, bodies):
    posts = [*bodies.values(), next(iter(bodies.values()))]  # the first account twice
    with (
        running(book.settings()) as url,
        httpx.Client(base_url=url, headers=HEADERS, timeout=60) as http,
    ):
        alone = [http.post("/v1/scores/from-history", json=body) for body in posts]
        passes, scored = _batch_sizes(http)
        assert (passes, scored) == (len(posts), len(posts))  # one by one: batches of one

        def post(body: dict) -> httpx.Response:
            with httpx.Client(base_url=url, headers=HEADERS, timeout=60) as own:
                return own.post("/v1/scores/from-history", json=body)

        with ThreadPoolExecutor(len(posts)) as pool:
            together = list(pool.map(post, posts))
        passes_after, scored_after = _batch_sizes(http)
    assert scored_after - scored == len(posts)
    assert passes_after - passes < len(posts)  # some were scored together
    for one, other in zip(alone, together, strict=True):
        assert (other.status_code, other.json()) == (one.status_code, one.json())
    statuses = [r.status_code for r in alone]
    assert statuses.count(422) == 2 and statuses.count(200) == len(posts) - 2
    broken, lapsed = alone[-3].json()["detail"], alone[-2].json()["detail"]
    assert "orders.amount" in str(broken) and "not active" in str(lapsed)


@pytest.fixture(scope="module")
def served(book) -> ServingState:
    state = ServingState(book.settings())
    state.refresh()
    return state


@pytest.fixture(scope="module")
def book_rows(book) -> dict[str, pd.DataFrame]:
    return {
        name: pd.read_parquet(book.data / f"{name}.parquet")
        for name in ("accounts", "orders", "interactions")
    }


def _score(served: ServingState, rows: dict[str, pd.DataFrame], accounts: list[str]):
    snapshot = served.snapshot
    assert snapshot is not None and served.models is not None
    raw = {name: frame[frame["account_id"].isin(accounts)] for name, frame in rows.items()}
    raw["categories"] = snapshot.categories
    return score_histories(
        raw,
        pd.Timestamp(snapshot.as_of),
        served.models,
        snapshot.population,
        snapshot.band_means,
        snapshot.manifest.get("order_history_start"),
    )


@settings(
    max_examples=12,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture],
)
@given(picks=st.lists(st.integers(0, 39), min_size=2, max_size=8, unique=True))
def test_a_history_scores_the_same_whatever_it_is_scored_with(served, book_rows, active_ids, picks):
    accounts = [active_ids[i] for i in picks]
    together = _score(served, book_rows, accounts).explained.set_index("account_id")
    for account in accounts:
        alone = _score(served, book_rows, [account]).explained.set_index("account_id")
        pd.testing.assert_frame_equal(together.loc[[account]], alone, check_exact=True)


def _answers(url: str, posts: list[dict]) -> list[tuple[int, bytes]]:
    with httpx.Client(base_url=url, headers=HEADERS, timeout=60) as http:
        answers = [http.post("/v1/scores/from-history", json=body) for body in posts]
    return [(answer.status_code, answer.content) for answer in answers]


def test_a_worker_process_answers_byte_for_byte_as_the_servers_thread(book, bodies):
    posts = list(bodies.values())
    with running(book.settings(history_process=False)) as url:
        in_thread = _answers(url, posts)
    app = create_app(book.settings(history_process=True))
    with running(book.settings(), app) as url:
        in_worker = _answers(url, posts)
        worker = app.state.history_batcher.worker_pid
    assert in_worker == in_thread
    assert [status for status, _ in in_worker].count(422) == 2
    assert worker is not None and worker != os.getpid()
    assert not psutil.pid_exists(worker) or psutil.Process(worker).status() == "zombie"


def test_a_killed_worker_is_replaced_and_the_next_history_is_answered(book, bodies):
    body = next(iter(bodies.values()))
    app = create_app(book.settings(history_process=True))
    with running(book.settings(), app) as url:
        first = _answers(url, [body])
        killed = app.state.history_batcher.worker_pid
        os.kill(killed, signal.SIGKILL)
        psutil.Process(killed).wait(timeout=10)
        again = _answers(url, [body])
        replacement = app.state.history_batcher.worker_pid
    assert first[0][0] == 200 and again == first
    assert replacement is not None and replacement != killed


def test_the_worker_exits_when_its_server_is_killed(tmp_path):
    """A server killed with SIGKILL runs no clean-up: its worker must notice by itself."""
    script = (
        "import os, signal, sys\n"
        "from serving.history_worker import WorkerProcess\n"
        "worker = WorkerProcess()\n"
        "worker.start()\n"
        "print(worker.pid, flush=True)\n"
        "os.kill(os.getpid(), signal.SIGKILL)\n"
    )
    server = subprocess.run(
        [sys.executable, "-c", script], capture_output=True, text=True, timeout=120
    )
    assert server.returncode == -signal.SIGKILL, server.stderr
    worker = int(server.stdout.split()[0])
    deadline = time.monotonic() + 30
    while psutil.pid_exists(worker) and psutil.Process(worker).status() != "zombie":
        assert time.monotonic() < deadline, "the worker outlived its server"
        time.sleep(0.1)
