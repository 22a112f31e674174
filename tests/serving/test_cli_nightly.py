"""``kam-ml nightly`` in a subprocess: exit 0, says where the risk lists are; bad input exits 1."""

from __future__ import annotations

import os
import subprocess
import sys


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
    result = kam_ml(
        ["nightly", "--data", str(book.data), "--out", str(out)], tmp_path, book.tracking_uri
    )
    assert result.returncode == 0, result.stderr
    day = str(book.second.as_of.date())
    assert "risk_lists/index.html" in result.stdout
    assert (out / day / "risk_lists" / "index.html").is_file()
    assert "score and explain" in result.stdout  # the stage timings


def test_bad_as_of_exits_1_without_a_traceback(book, tmp_path):
    result = kam_ml(
        ["nightly", "--data", str(book.data), "--out", str(tmp_path), "--as-of", "someday"],
        tmp_path,
        book.tracking_uri,
    )
    assert result.returncode == 1
    assert "Invalid value for '--as-of': 'someday' is not a date" in result.stderr
    assert "Traceback" not in result.stderr
