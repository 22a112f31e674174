"""HTML pages from the package's Jinja templates: the nightly pages and the model report.

One Jinja environment renders every page, so escaping, number filters and the page shell
(``templates/base.html``) are defined once. ``write_model_report`` is the one page the
churn, offer and value reports share: their domain modules decide the content (sections,
figures, tables); this module decides how it is laid out and written.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from functools import cache
from pathlib import Path
from typing import Any

import jinja2
import pandas as pd
from markupsafe import Markup
from matplotlib.figure import Figure

from kam_ml.csv_cells import write_csv

__all__ = [
    "Section",
    "importance_table",
    "metrics_table",
    "render",
    "table_html",
    "write_model_report",
]

MODEL_REPORT = "report.html"


@dataclass(frozen=True)
class Section:
    """One heading of a model report and what goes under it, in this order.

    html: paragraphs the report module wrote; they are trusted markup, so whatever comes
    from data must be escaped by the caller. table: shown with ``table_html``. plots: the
    report's figures go under this heading.
    """

    heading: str
    html: str = ""
    table: pd.DataFrame | None = None
    plots: bool = False


def render(template: str, **context: Any) -> str:
    """Render ``kam_ml/reporting/templates/<template>`` with ``context`` (autoescaped)."""
    return _environment().get_template(template).render(**context)


def write_model_report(
    out_dir: Path,
    title: str,
    sections: Sequence[Section],
    figures: Mapping[str, Figure],
    tables: Mapping[str, pd.DataFrame],
) -> Path:
    """Write ``<stem>.png`` per figure, ``<stem>.csv`` per table and ``report.html``.

    The tables are the machine-readable evidence (whole, unrounded) and need not be the
    ones the sections show (a top 25, say). Returns the page's path.
    """
    if figures and not any(section.plots for section in sections):
        raise ValueError(f"{title!r}: the figures are written but no section shows them.")
    out_dir.mkdir(parents=True, exist_ok=True)
    for stem, figure in figures.items():
        figure.savefig(out_dir / f"{stem}.png", bbox_inches="tight")
    for stem, frame in tables.items():
        write_csv(frame, out_dir / f"{stem}.csv", index=_index_is_data(frame))
    path = out_dir / MODEL_REPORT
    page = render("model_report.html", title=title, sections=sections, figures=list(figures))
    path.write_text(page, encoding="utf-8")
    return path


def metrics_table(metrics: Mapping[str, Mapping[str, float]]) -> pd.DataFrame:
    """One row per scorer (the model, then its baselines), one column per metric."""
    table = pd.DataFrame(metrics).T
    table.index.name = "scorer"
    return table


def importance_table(importance: pd.Series) -> pd.DataFrame:
    """The model's feature importance as a one-column (``gain``) table, by feature."""
    return importance.rename("gain").to_frame()


def table_html(frame: pd.DataFrame) -> Markup:
    """An HTML table with numbers to four significant digits, or "(none)" when empty."""
    if not len(frame):
        return Markup("<p>(none)</p>")
    return Markup(
        frame.to_html(index=_index_is_data(frame), float_format=_four_digits, escape=True)
    )


def _index_is_data(frame: pd.DataFrame) -> bool:
    # A RangeIndex is row numbers; any other index (scorer, feature, KPI) is a column.
    return not isinstance(frame.index, pd.RangeIndex)


def _four_digits(value: float) -> str:
    return f"{value:,.4g}"


def _percent(value: float | None, digits: int = 1) -> str:
    return "–" if value is None else f"{value:.{digits}%}"


def _money(value: float | None) -> str:
    return "–" if value is None else f"{value:,.0f}"


def _points(value: float | None) -> str:
    return "–" if value is None else f"{value * 100:+.1f} pts"


@cache
def _environment() -> jinja2.Environment:
    """Built on first use, not at import (STYLE 8), and then shared by every page."""
    environment = jinja2.Environment(
        loader=jinja2.PackageLoader("kam_ml.reporting", "templates"),
        autoescape=jinja2.select_autoescape(["html"]),
        trim_blocks=True,
        lstrip_blocks=True,
    )
    environment.filters["pct"] = _percent
    environment.filters["money"] = _money
    environment.filters["pts"] = _points
    environment.filters["table"] = table_html
    return environment
