"""CDNOW -> data contract, from small hand-made files in both CDNOW layouts (no network)."""

from __future__ import annotations

import subprocess
import zipfile
from pathlib import Path

import pandas as pd
import pytest

from kam_ml.errors import DataContractError, DownloadError
from kam_ml.science import cdnow
from kam_ml.science.cdnow import (
    CDNOW_MASTER,
    cached_cdnow,
    fetch_cdnow,
    load_cdnow,
    load_cdnow_tables,
    read_cdnow_transactions,
)

MASTER = """customer_id  date number_of_cds  dollar_value
 00001 19970101  1   11.77
 00002 19970112  1   12.00
 00002 19970112  5   77.00
 00003 19970102  2   20.76
 00003 19970330  2   20.76
 00003 19970402  2    0.00
"""
SAMPLE = """ 00004 0001 19970101  2   29.33
 00004 0001 19970118  2   29.73
 00018 0002 19970101  2   14.96
"""


@pytest.fixture
def master_file(tmp_path: Path) -> Path:
    path = tmp_path / CDNOW_MASTER
    path.write_text(MASTER)
    return path


def test_master_file_becomes_contract_tables(master_file: Path) -> None:
    raw = load_cdnow(master_file)
    accounts = raw["accounts"].set_index("account_id")
    assert list(accounts.index) == ["00001", "00002", "00003"]
    assert accounts.loc["00003", "signup_date"] == pd.Timestamp("1997-01-02")
    assert set(accounts["manager"]) == {"unassigned"} and set(accounts["region"]) == {"unknown"}
    orders = raw["orders"]
    assert len(orders) == 6 and set(orders["category"]) == {"music"}
    two = orders[orders["account_id"] == "00002"]
    assert list(two["quantity"]) == [1, 5] and list(two["amount"]) == [12.0, 77.0]
    assert two["order_id"].is_unique
    assert "interactions" not in raw


def test_loaded_tables_pass_validation(master_file: Path) -> None:
    tables = load_cdnow_tables(master_file)
    assert tables.n_accounts == 3
    assert tables.orders["amount"].sum() == pytest.approx(142.29)
    assert tables.last_date() == pd.Timestamp("1997-04-02")


def test_sample_layout_keeps_the_master_id(tmp_path: Path) -> None:
    path = tmp_path / "CDNOW_sample.txt"
    path.write_text(SAMPLE)
    transactions = read_cdnow_transactions(path)
    assert list(transactions["customer_id"]) == ["00004", "00004", "00018"]
    assert transactions["number_of_cds"].tolist() == [2, 2, 2]


def test_bad_rows_are_named(tmp_path: Path) -> None:
    path = tmp_path / "bad.txt"
    path.write_text(" 00001 1997013X  1   11.77\n")
    with pytest.raises(DataContractError, match=r"1 rows have an unparseable .*00001"):
        read_cdnow_transactions(path)


def test_missing_file_is_a_contract_error(tmp_path: Path) -> None:
    with pytest.raises(DataContractError, match="does not exist"):
        load_cdnow(tmp_path / "nope.txt")


def test_cached_wheel_is_extracted_without_network(tmp_path: Path, master_file: Path) -> None:
    assert cached_cdnow(tmp_path / "empty") is None
    wheel = tmp_path / "cache" / "lifetimes-0.11.3-py3-none-any.whl"
    wheel.parent.mkdir()
    with zipfile.ZipFile(wheel, "w") as archive:
        archive.write(master_file, "lifetimes/datasets/CDNOW_master.txt")
    extracted = fetch_cdnow(wheel.parent)  # cached: pip is never run
    assert extracted == wheel.parent / "cdnow" / CDNOW_MASTER
    assert extracted.read_text() == MASTER


def test_real_cdnow_master_if_cached() -> None:
    """Opt-in: runs only when ``fetch_cdnow()`` already put the file in the user cache."""
    path = cached_cdnow()
    if path is None:
        pytest.skip("CDNOW is not cached; run kam_ml.science.cdnow.fetch_cdnow() to enable")
    tables = load_cdnow_tables(path)
    assert tables.n_accounts == 23570
    assert len(tables.orders) == 69659
    assert tables.first_date() == pd.Timestamp("1997-01-01")
    assert tables.last_date() == pd.Timestamp("1998-06-30")


def test_a_pip_failure_is_a_download_error_not_a_data_problem(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    def failing_pip(command: list[str], **_: object) -> subprocess.CompletedProcess[str]:
        return subprocess.CompletedProcess(command, 1, "", "ERROR: No matching distribution")

    monkeypatch.setattr(cdnow.subprocess, "run", failing_pip)
    with pytest.raises(DownloadError, match="exited with 1.*No matching distribution"):
        fetch_cdnow(tmp_path)


def test_a_wheel_without_the_file_is_a_download_error(tmp_path: Path) -> None:
    wheel = tmp_path / "lifetimes-0.11.3-py3-none-any.whl"
    with zipfile.ZipFile(wheel, "w") as archive:
        archive.writestr("lifetimes/__init__.py", "")
    with pytest.raises(DownloadError, match="holds no CDNOW_master.txt"):
        fetch_cdnow(tmp_path)
