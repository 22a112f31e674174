"""``kam-ml train`` on 8-10 months of history: a message saying what to change, no traceback.

These books used to pass the history check and then crash churn training (IndexError with
8-9 months, ChurnModel.fit's ValueError with 10).
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from kam_ml.demo.generate import generate_demo_data


def kam_ml_train(data: Path, cwd: Path) -> subprocess.CompletedProcess[str]:
    env = os.environ | {"MLFLOW_TRACKING_URI": f"sqlite:///{cwd / 'mlflow.db'}", "COLUMNS": "200"}
    return subprocess.run(
        [sys.executable, "-m", "kam_ml", "train", "--data", str(data)],
        cwd=cwd,
        env=env,
        capture_output=True,
        text=True,
        timeout=600,
    )


@pytest.mark.parametrize("months", [9, 10])
def test_train_on_a_short_book_trains_or_says_what_to_change(months, tmp_path):
    data = tmp_path / "data"
    demo = generate_demo_data(n_accounts=150, seed=4, years=months / 12)
    demo.write(data)
    first_date = str(demo.orders["order_date"].min().date())
    result = kam_ml_train(data, tmp_path)
    output = " ".join((result.stdout + result.stderr).split())  # rich wraps long lines
    assert "Traceback" not in output
    if result.returncode == 0:  # enough history after all: the churn model was trained
        assert "kam-churn v1" in output
        return
    assert result.returncode == 1, output
    assert "error: Not enough history to train" in output
    assert f"the history runs from {first_date} to the as-of date" in output
    assert "With a 90-day horizon" in output
    assert "left to train; training needs at least 2" in output
    assert "shorten the horizon to at most" in output and "more month" in output
