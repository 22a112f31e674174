"""write_model_report: the page, its figures and its CSV tables, on hand-made content."""

from __future__ import annotations

import pandas as pd
import pytest

from kam_ml.reporting.figures import axes
from kam_ml.reporting.html import (
    Section,
    importance_table,
    metrics_table,
    render,
    write_model_report,
)


def _figure():
    figure, ax = axes("A line", "x", "y")
    ax.plot([0, 1], [0, 1])
    return figure


def test_sections_render_in_order_with_their_tables_and_figures(tmp_path):
    metrics = metrics_table({"model": {"auc": 0.81234}, "baseline": {"auc": 0.7}})
    rows = pd.DataFrame({"slice": ["gold", "<b>silver</b>"], "rows": [3, 4]})
    page = write_model_report(
        tmp_path,
        "Report <as of> today",
        [
            Section("Setup", html="<p>Trusted <b>markup</b></p>"),
            Section("Metrics & more", table=metrics),
            Section("Plots", plots=True),
            Section("Rows", table=rows),
            Section("Nothing", table=rows.iloc[:0]),
        ],
        figures={"line": _figure(), "other": _figure()},
        tables={"metrics": metrics, "rows": rows},
    )
    text = page.read_text(encoding="utf-8")
    assert page == tmp_path / "report.html"
    assert "<title>Report &lt;as of&gt; today</title>" in text
    headings = [part.split("</h2>")[0] for part in text.split("<h2>")[1:]]
    assert headings == ["Setup", "Metrics &amp; more", "Plots", "Rows", "Nothing"]
    assert "<p>Trusted <b>markup</b></p>" in text  # section html is the caller's markup
    assert "&lt;b&gt;silver&lt;/b&gt;" in text  # table cells come from data: escaped
    assert "<td>0.8123</td>" in text and "<p>(none)</p>" in text
    plots = text.split("<h2>Plots</h2>")[1].split("<h2>")[0]
    assert plots.count("<figure>") == 2 and '<img src="line.png" alt="line">' in plots
    assert (tmp_path / "line.png").is_file() and (tmp_path / "other.png").is_file()


def test_tables_keep_a_meaningful_index_and_drop_row_numbers(tmp_path):
    metrics = metrics_table({"model": {"auc": 0.8}, "recency": {"auc": 0.7}})
    importance = importance_table(pd.Series({"recency": 5.0, "tenure": 1.0}))
    rows = pd.DataFrame({"k": [1, 2], "ndcg": [0.5, 0.6]})
    tables = {"metrics": metrics, "feature_importance": importance, "rows": rows}
    write_model_report(tmp_path, "t", [Section("Rows", table=rows)], {}, tables)

    assert (tmp_path / "metrics.csv").read_text().splitlines() == [
        "scorer,auc",
        "model,0.8",
        "recency,0.7",
    ]
    assert (tmp_path / "feature_importance.csv").read_text().splitlines()[:2] == [
        ",gain",
        "recency,5.0",
    ]
    assert (tmp_path / "rows.csv").read_text().splitlines()[0] == "k,ndcg"
    assert "<th>0</th>" not in (tmp_path / "report.html").read_text()


def test_figures_without_a_section_to_show_them_are_refused(tmp_path):
    with pytest.raises(ValueError, match="no section shows them"):
        write_model_report(tmp_path, "t", [Section("Setup")], {"line": _figure()}, {})


def test_nightly_pages_keep_their_own_style_in_the_shared_shell():
    index = render("risk_index.html", managers=[], as_of="2026-10-31", link_suffix=".html")
    assert "font-family: system-ui" in index and "max-width: 1100px" not in index
    assert index.count("<style>") == 1
