"""The small xlsx writer: readable by openpyxl, formatted, and byte-for-byte reproducible."""

from __future__ import annotations

from openpyxl import load_workbook

from kam_ml.reporting.xlsx import Column, Sheet, write_xlsx, xlsx_bytes

COLUMNS = [
    Column("Account", 12),
    Column("Churn probability", 10, "percent"),
    Column("At risk", 14, "money"),
]
ROWS = [["A<1>&", 0.75, 1234.5], ["B", None, float("nan")], ["C", 0.1, 7]]


def test_workbook_reads_back_with_values_and_formatting(tmp_path):
    path = write_xlsx(
        tmp_path / "t.xlsx", [Sheet("Risk list", COLUMNS, ROWS, color_scale_column=1)]
    )
    sheet = load_workbook(path)["Risk list"]
    assert [c.value for c in sheet[1]] == ["Account", "Churn probability", "At risk"]
    assert [c.value for c in sheet[2]] == ["A<1>&", 0.75, 1234.5]
    assert [c.value for c in sheet[3]] == ["B", None, None]
    assert sheet.freeze_panes == "A2"
    assert sheet.auto_filter.ref == "A1:C4"
    assert sheet.column_dimensions["C"].width == 14
    assert sheet["B2"].number_format == "0.00%"
    assert sheet["C2"].number_format == "#,##0"
    assert [str(r.sqref) for r in sheet.conditional_formatting] == ["B2:B4"]


def test_same_table_gives_the_same_bytes():
    sheets = [Sheet("One", COLUMNS, ROWS), Sheet("Two", COLUMNS, ROWS[:1])]
    assert xlsx_bytes(sheets) == xlsx_bytes(sheets)
