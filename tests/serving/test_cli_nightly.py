"""``kam-ml nightly`` in a subprocess: exit 0, says where the risk lists are; bad input exits 1."""

from __future__ import annotations

import os
import subprocess
import sys

import pandas as pd

from kam_ml.actions import ActionKind, NewAction, SQLiteActionStore


def kam_ml(args: list[str], cwd, tracking_uri: str) -> subprocess.CompletedProcess[str]:
    env = os.environ | {"MLFLOW_TRACKING_URI": tracking_uri, "COLUMNS": "200"}
    return subprocess.run(
        [sys.executable, "-m", "kam_ml", *args],
        cwd=cwd,
        env=env,
        capture_output=True,
        text=True,
        timeout=600,
    )


def test_nightly_command_prints_where_the_outputs_are(book, tmp_path):
    out = tmp_path / "nightly"
    account = str(pd.read_parquet(book.second.directory / "scores.parquet")["account_id"][0])
    # the API's default store: actions.db in the nightly folder, which the job then reads
    SQLiteActionStore(out / "actions.db").record(NewAction(account, ActionKind.met, "Ava"))
    result = kam_ml(
        ["nightly", "--data", str(book.data), "--out", str(out)], tmp_path, book.tracking_uri
    )
    assert result.returncode == 0, result.stderr
    day = str(book.second.as_of.date())
    assert "risk_lists/index.html" in result.stdout
    assert (out / day / "risk_lists" / "index.html").is_file()
    assert "score and explain" in result.stdout  # the stage timings
    assert f"Last actions from: sqlite:///{(out / 'actions.db').resolve()}" in result.stdout
    lists = pd.concat(pd.read_csv(p) for p in (out / day / "risk_lists").glob("*.csv"))
    shown = lists.loc[lists["Last action"].notna(), ["Account", "Last action"]]
    assert shown.values.tolist() == [[account, "Met"]]


def test_bad_as_of_exits_1_without_a_traceback(book, tmp_path):
    result = kam_ml(
        ["nightly", "--data", str(book.data), "--out", str(tmp_path), "--as-of", "someday"],
        tmp_path,
        book.tracking_uri,
    )
    assert result.returncode == 1
    assert "Invalid value for '--as-of': 'someday' is not a date" in result.stderr
    assert "Traceback" not in result.stderr
