"""The small xlsx writer: readable by openpyxl, formatted, and byte-for-byte reproducible."""

from __future__ import annotations

import io
import zipfile

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


def test_headers_fit_long_texts_wrap_and_pages_print_landscape_fit_to_width(tmp_path):
    columns = [
        Column("Change since last night", 8, "change"),
        Column("Account", 6),
        Column("Reasons", 50, "wrap"),
    ]
    rows = [[0.1, "ACCOUNT-0000000017", "a long reason\nand another"], [-0.2, "B", ""]]
    sheet = load_workbook(write_xlsx(tmp_path / "w.xlsx", [Sheet("D'Arcy", columns, rows)]))[
        "D'Arcy"
    ]
    widths = {c: sheet.column_dimensions[c].width for c in "ABC"}
    assert widths["A"] >= len("Change since last night") + 2  # the header is not cut
    assert widths["B"] >= len("ACCOUNT-0000000017")  # nor the longest value
    assert widths["C"] == 50 and sheet["C2"].alignment.wrap_text
    assert sheet["A1"].alignment.wrap_text and not sheet["B2"].alignment.wrap_text
    assert sheet["C2"].value == "a long reason\nand another"
    setup = sheet.page_setup
    assert (setup.orientation, setup.fitToWidth, setup.fitToHeight) == ("landscape", 1, 0)
    assert sheet.sheet_properties.pageSetUpPr.fitToPage
    assert sheet.print_title_rows == "$1:$1"  # the header row on every printed page


def test_rendered_rows_take_widths_from_the_given_content_widths():
    sheet = Sheet("S", COLUMNS, [()], rendered_rows="", content_widths=[30, None, None])
    xml = xlsx_bytes([sheet])
    part = zipfile.ZipFile(io.BytesIO(xml)).read("xl/worksheets/sheet1.xml").decode()
    assert '<col min="1" max="1" width="31" customWidth="1"/>' in part
    assert f'<col min="2" max="2" width="{len("Churn probability") + 2}"' in part
