"""CSV cells a spreadsheet cannot evaluate: the helper, and that every writer uses it."""

from __future__ import annotations

import re
from pathlib import Path

import pandas as pd
import pytest

from kam_ml.csv_cells import safe_cell, safe_frame, write_csv
from kam_ml.data.quarantine import QuarantineReport, RuleViolation
from kam_ml.reporting.files import write_table

HOSTILE = [
    '=HYPERLINK("http://evil.example","x")',
    "+cmd|' /C calc'!A0",
    "-2+3+cmd|' /C calc'!A0",
    "@SUM(1+1)",
    "\t=1+1",
    "\r=1+1",
    "-",
    "-inf",
]


@pytest.mark.parametrize("text", HOSTILE)
def test_a_cell_a_spreadsheet_would_evaluate_gets_a_leading_quote(text: str) -> None:
    assert safe_cell(text) == "'" + text


@pytest.mark.parametrize("text", ["-3.5", "+1e5", "-0.25", "42", "Zoë Ng", "a=b", " =1", ""])
def test_plain_numbers_and_ordinary_text_are_unchanged(text: str) -> None:
    assert safe_cell(text) == text


def test_only_text_cells_change_and_numbers_stay_numbers(tmp_path: Path) -> None:
    frame = pd.DataFrame(
        {"account": ["=1+1", "A-1", None], "delta": [-3.5, 2.0, -1.0]},
        index=pd.Index(["@x", "b", "c"], name="k"),
    )
    path = write_csv(frame, tmp_path / "f.csv")
    assert path.read_text().splitlines() == [
        "k,account,delta",
        "'@x,'=1+1,-3.5",
        "b,A-1,2.0",
        "c,,-1.0",
    ]
    assert frame.loc["@x", "account"] == "=1+1"  # the caller's frame is not modified
    assert safe_frame(frame.reset_index())["delta"].dtype == float


def test_the_score_csv_is_neutralised(tmp_path: Path) -> None:
    scores = pd.DataFrame(
        {"account_id": ["=cmd|' /C calc'!A0", "A1"], "offers": [["@SUM(A1)", "shoes"], []]}
    )
    text = write_table(scores, tmp_path / "s.csv").read_text()
    assert text.splitlines()[1:] == ["'=cmd|' /C calc'!A0,'@SUM(A1) | shoes", "A1,"]


def test_the_quarantine_report_is_neutralised(tmp_path: Path) -> None:
    rows = pd.DataFrame({"order_id": ["=1+1"], "amount": ["-5"], "row": [2], "rule": ["x"]})
    violation = RuleViolation("orders", "amount", "must be >= 0", 1, ("=1+1",))
    report = QuarantineReport((violation,), {"orders": rows})
    folder = tmp_path / "q"
    report.write(folder)
    assert (folder / "orders_quarantined.csv").read_text().splitlines()[1] == "'=1+1,-5,2,x"
    assert "'=1+1" in (folder / "quarantine_summary.csv").read_text()


def test_no_module_writes_a_csv_but_through_the_helper() -> None:
    root = Path(__file__).parents[2]
    writers = {
        str(path.relative_to(root))
        for folder in ("kam_ml", "serving")
        for path in (root / folder).rglob("*.py")
        if re.search(r"\.to_csv\(", path.read_text(encoding="utf-8"))
    }
    # the demo generator writes contract *input*, which must read back exactly as generated
    assert writers == {"kam_ml/csv_cells.py", "kam_ml/demo/generate.py"}
