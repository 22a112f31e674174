"""Every ``kam-ml`` command, in a subprocess, on bad input: exit 1, a message, no traceback.

Exit-code policy: 0 on success, 1 for any bad input, whoever notices it. That includes
typer's own usage errors (an unknown ``--on-bad-rows``, ``--accounts 5``, a missing
``--data``), which click would exit 2 with: ``kam_ml.cli`` maps them to 1, so a script or a
scheduler checks one code for "fix your input". Each case also names the text the user
must see, so a case cannot pass by failing for another reason (every command here stops
before any model is trained; ``score`` and ``nightly`` get a real bundle so that their data
errors are reached: the pre-move churn fixture, copied into the models folder and signed
with the ``KAM_BUNDLE_KEY`` the commands run with).

The cases run concurrently in one module fixture: each is a fresh interpreter, and serially
they would cost a second or two apiece.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pandas as pd
import pytest

from kam_ml.registry.bundle import sign_bundle
from tests.builders import tables_from_rows

BUNDLE = Path(__file__).parents[1] / "data" / "fixtures" / "pre-move-bundles" / "kam-churn"
KEY = "bad-input test key"
PASSWORD = "s3cret-pw"  # in the database URIs below; no output may show it

ACCOUNTS = [
    {"account_id": f"A{i}", "signup_date": "2023-01-02", "manager": "M. Stone", "region": "EMEA"}
    for i in range(3)
]
ORDERS = [
    {
        "order_id": f"O-{i}-{month}",
        "account_id": f"A{i}",
        "order_date": f"2024-{month:02d}-15",
        "category": "rings",
        "quantity": 1,
        "amount": 120.0,
    }
    for i in range(3)
    for month in range(1, 13)
]


# id -> (arguments, text the output must contain). In the arguments, {good} is a valid book,
# {no_amount} one whose orders lack a required column, {negative} one with a negative amount,
# {huge} one with an amount of 1e308, {future} one with two orders dated 2262-04-11,
# {single} one account, {missing} a folder that does not exist, {file} a plain file, {tmp} a
# scratch folder and {bundle} an exported churn bundle.
CASES: dict[str, tuple[list[str], str]] = {
    # demo-data
    "demo-data negative accounts": (
        ["demo-data", "--out", "{tmp}/demo", "--accounts", "-5"],
        "Invalid value for '--accounts'",
    ),
    "demo-data bad format": (
        ["demo-data", "--out", "{tmp}/demo", "--format", "xlsx"],
        "Invalid value for '--format'",
    ),
    "demo-data negative seed": (
        ["demo-data", "--out", "{tmp}/demo", "--seed", "-1"],
        "Invalid value for '--seed'",
    ),
    "demo-data out is a file": (["demo-data", "--out", "{file}"], "Invalid value for '--out'"),
    "demo-data out under a file": (  # the system refuses the folder: an OSError, not a crash
        ["demo-data", "--out", "{file}/sub", "--accounts", "20"],
        "Not a directory",
    ),
    "demo-data stress without btyd": (
        ["demo-data", "--out", "{tmp}/demo", "--stress"],
        "--stress needs --generator btyd",
    ),
    # validate
    "validate missing folder": (["validate", "--data", "{missing}"], "does not exist"),
    "validate missing column": (["validate", "--data", "{no_amount}"], "amount"),
    "validate refused bad rows": (
        ["validate", "--data", "{negative}", "--on-bad-rows", "refuse"],
        "on_bad_rows='refuse'",
    ),
    "validate bad on-bad-rows": (
        ["validate", "--data", "{good}", "--on-bad-rows", "drop"],
        "Invalid value for '--on-bad-rows'",
    ),
    "validate absurd amount refused": (
        ["validate", "--data", "{huge}", "--on-bad-rows", "refuse"],
        "orders.amount must be at most 1e12: 1 row breaks it (order_id O-0-1)",
    ),
    "validate missing sqlite": (["validate", "--data", "sqlite:///{tmp}/no.db"], "does not exist"),
    "validate without data": (["validate"], "Missing option '--data'"),
    # a database URI's password never reaches the terminal, whatever the command
    "validate postgresql, password hidden": (
        ["validate", "--data", f"postgresql://kam:{PASSWORD}@127.0.0.1:1/book"],
        "Could not connect to PostgreSQL at 127.0.0.1:1/book as user kam",
    ),
    "train postgresql, password hidden": (
        ["train", "--data", f"postgresql://kam:{PASSWORD}@127.0.0.1:1/book"],
        "Could not connect to PostgreSQL at 127.0.0.1:1/book as user kam",
    ),
    "score unparsable postgresql URI, password hidden": (
        ["score", "--data", f"postgresql://kam:{PASSWORD}@[::1/book", "--out", "{tmp}/s.csv"],
        "kam:***@",
    ),
    "nightly postgresql, password hidden": (
        ["nightly", "--data", f"postgresql://kam:{PASSWORD}@127.0.0.1:1/book", "--out", "{tmp}/n"],
        "postgresql://kam:***@127.0.0.1:1/book",
    ),
    "score month-first as-of": (
        ["score", "--data", "{good}", "--out", "{tmp}/s.csv", "--as-of", "01/02/2026"],
        "Invalid value for '--as-of': '01/02/2026' is not a date in the form YYYY-MM-DD",
    ),
    # train
    "train missing folder": (["train", "--data", "{missing}"], "does not exist"),
    "train missing column": (["train", "--data", "{no_amount}"], "amount"),
    "train day-first as-of": (
        ["train", "--data", "{good}", "--as-of", "31/10/2026"],
        "Invalid value for '--as-of': '31/10/2026' is not a date in the form YYYY-MM-DD",
    ),
    "train negative horizon": (
        ["train", "--data", "{good}", "--horizon-days", "-3"],
        "Invalid value for '--horizon-days'",
    ),
    "train on one account": (
        ["train", "--data", "{single}"],
        "rows (1 account) stayed, and a churn model needs accounts that churned",
    ),
    "train on one class": (  # every account orders every month: nobody churns
        ["train", "--data", "{good}"],
        "rows (3 accounts) stayed, and a churn model needs",
    ),
    "train as-of before the history": (  # a valid date, so the library's error names it
        ["train", "--data", "{good}", "--as-of", "2024-02-01"],
        "Not enough history to train: the history runs from 2024-01-15 to the as-of date",
    ),
    # score
    "score missing folder": (
        ["score", "--data", "{missing}", "--out", "{tmp}/s.csv", "--model", "{bundle}"],
        "does not exist",
    ),
    "score missing column": (
        ["score", "--data", "{no_amount}", "--out", "{tmp}/s.csv", "--model", "{bundle}"],
        "amount",
    ),
    "score bad out suffix": (
        ["score", "--data", "{good}", "--out", "{tmp}/scores.txt", "--model", "{bundle}"],
        "must end in .parquet or .csv",
    ),
    "score word as-of": (
        ["score", "--data", "{good}", "--out", "{tmp}/s.csv", "--as-of", "yesterday"],
        "'yesterday' is not a date in the form YYYY-MM-DD",
    ),
    "score negative horizon": (
        ["score", "--data", "{good}", "--out", "{tmp}/s.csv", "--horizon-days", "-3"],
        "Invalid value for '--horizon-days'",
    ),
    "score bad rank-offers-by": (
        ["score", "--data", "{good}", "--out", "{tmp}/s.csv", "--rank-offers-by", "margin"],
        "Invalid value for '--rank-offers-by'",
    ),
    "score zero k": (
        ["score", "--data", "{good}", "--out", "{tmp}/s.csv", "--k", "0"],
        "Invalid value for '--k'",
    ),
    "score no active account": (
        ["score", "--data", "{good}", "--out", "{tmp}/s.csv", "--model", "{bundle}"]
        + ["--as-of", "2030-01-01"],
        "No account is active at 2030-01-01, so there is nothing to score",
    ),
    "score future rows refused": (  # dated after today: quarantined, here refused
        ["score", "--data", "{future}", "--out", "{tmp}/s.csv", "--model", "{bundle}"]
        + ["--on-bad-rows", "refuse"],
        "orders.order_date must not be after the as-of date: 2 rows break it (order_id "
        "O-0-1, O-1-1)",
    ),
    "score rows after the as-of refused": (
        ["score", "--data", "{good}", "--out", "{tmp}/s.csv", "--model", "{bundle}"]
        + ["--as-of", "2024-06-30", "--on-bad-rows", "refuse"],
        "orders.order_date must not be after the as-of date: 18 rows break it",
    ),
    # nightly
    "nightly month-first as-of": (
        ["nightly", "--data", "{good}", "--out", "{tmp}/nights", "--as-of", "01/02/2026"],
        "'01/02/2026' is not a date in the form YYYY-MM-DD",
    ),
    "nightly no active account": (
        ["nightly", "--data", "{good}", "--out", "{tmp}/nights", "--model", "{bundle}"]
        + ["--as-of", "1990-01-01"],  # every row is after it, so none is left
        "orders has no valid rows: 36 of 36 rows broke contract rules.\norders.order_date "
        "must not be after the as-of date: 36 rows break it",
    ),
    "nightly missing folder": (
        ["nightly", "--data", "{missing}", "--out", "{tmp}/nights", "--model", "{bundle}"],
        "does not exist",
    ),
    "nightly impossible as-of": (
        ["nightly", "--data", "{good}", "--out", "{tmp}/nights", "--as-of", "2026-13-01"],
        "'2026-13-01' is not a calendar date: month must be in 1..12",
    ),
    "nightly as-of past pandas": (
        ["nightly", "--data", "{good}", "--out", "{tmp}/nights", "--as-of", "2262-04-12"],
        "'2262-04-12' is out of range",
    ),
    "nightly bad on-bad-rows": (
        ["nightly", "--data", "{good}", "--out", "{tmp}/nights", "--on-bad-rows", "skip"],
        "Invalid value for '--on-bad-rows'",
    ),
    "nightly out is a file": (
        ["nightly", "--data", "{good}", "--out", "{file}"],
        "Invalid value for '--out'",
    ),
    # serve: every case is refused before uvicorn starts
    "serve port out of range": (["serve", "--port", "70000"], "Invalid value for '--port'"),
    "serve zero workers": (["serve", "--workers", "0"], "Invalid value for '--workers'"),
    "serve nightly-dir is a file": (
        ["serve", "--nightly-dir", "{file}"],
        "Invalid value for '--nightly-dir'",
    ),
    # no such command
    "unknown command": (["predict", "--data", "{good}"], "No such command 'predict'"),
}


def _write_book(folder: Path, accounts: list[dict], orders: list[dict]) -> Path:
    folder.mkdir()
    pd.DataFrame(accounts).to_csv(folder / "accounts.csv", index=False)
    pd.DataFrame(orders).to_csv(folder / "orders.csv", index=False)
    return folder


def _places(tmp: Path) -> dict[str, Path]:
    """The books and paths the cases' placeholders stand for, written under ``tmp``."""
    no_amount = [{k: v for k, v in order.items() if k != "amount"} for order in ORDERS]
    negative = [{**ORDERS[0], "amount": -5.0}, *ORDERS[1:]]
    huge = [{**ORDERS[0], "amount": 1e308}, *ORDERS[1:]]
    future = [
        {**o, "order_date": "2262-04-11"} if o["order_date"] == "2024-01-15" else o
        for o in ORDERS[:24]
    ]
    future += ORDERS[24:]
    file = tmp / "a-file.txt"
    file.write_text("not a folder\n")
    return {
        "good": _write_book(tmp / "good", ACCOUNTS, ORDERS),
        "no_amount": _write_book(tmp / "no-amount", ACCOUNTS, no_amount),
        "negative": _write_book(tmp / "negative", ACCOUNTS, negative),
        "huge": _write_book(tmp / "huge", ACCOUNTS, huge),
        "future": _write_book(tmp / "future", ACCOUNTS, future),
        "single": _write_book(tmp / "single", ACCOUNTS[:1], ORDERS[:12]),
        "missing": tmp / "no-such-folder",
        "file": file,
        "tmp": tmp,
        "bundle": _signed_copy(BUNDLE, tmp / "models" / "kam-churn"),
    }


def _signed_copy(bundle: Path, folder: Path) -> Path:
    shutil.copytree(bundle, folder)
    sign_bundle(folder, KEY.encode())
    return folder


def _run(args: list[str], cwd: Path) -> subprocess.CompletedProcess[str]:
    env = os.environ | {
        "MLFLOW_TRACKING_URI": f"sqlite:///{cwd / 'mlflow.db'}",
        "KAM_MODELS_DIR": str(cwd / "models"),
        "KAM_REPORTS_DIR": str(cwd / "reports"),
        "KAM_BUNDLE_KEY": KEY,
        "COLUMNS": "200",
    }
    return subprocess.run(
        [sys.executable, "-m", "kam_ml", *args],
        cwd=cwd,
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
    )


@pytest.fixture(scope="module")
def results(
    tmp_path_factory: pytest.TempPathFactory,
) -> dict[str, subprocess.CompletedProcess[str]]:
    tmp = tmp_path_factory.mktemp("bad-input")
    places = _places(tmp)
    with ThreadPoolExecutor(max_workers=4) as pool:
        running = {
            case: pool.submit(_run, [a.format(**places) for a in args], tmp)
            for case, (args, _) in CASES.items()
        }
        return {case: future.result() for case, future in running.items()}


def test_the_good_book_is_valid_so_each_case_fails_for_its_own_reason(tmp_path: Path) -> None:
    assert tables_from_rows(ACCOUNTS, ORDERS).n_accounts == 3
    good = _write_book(tmp_path / "good", ACCOUNTS, ORDERS)
    result = _run(["validate", "--data", str(good)], tmp_path)
    assert result.returncode == 0, result.stdout + result.stderr


@pytest.mark.parametrize("case", list(CASES))
def test_bad_input_exits_1_with_a_message_and_no_traceback(
    case: str, results: dict[str, subprocess.CompletedProcess[str]]
) -> None:
    result = results[case]
    output = result.stdout + result.stderr
    assert result.returncode == 1, output
    assert "Traceback" not in output
    assert CASES[case][1] in output, output
    assert PASSWORD not in output
