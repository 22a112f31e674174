"""The figure helpers every model report shares, drawn on bare matplotlib Figures.

No pyplot: a Figure built directly holds no global state and needs no backend, so reports
render the same in a notebook, a test and the nightly job. The domain figures (churn's
ROC and lift, the offers' metric@k, the value deciles) live in each domain's report.
"""

from __future__ import annotations

import pandas as pd
from matplotlib.axes import Axes
from matplotlib.figure import Figure

__all__ = ["axes", "importance_plot"]


def axes(title: str, xlabel: str, ylabel: str) -> tuple[Figure, Axes]:
    """A 6 x 4.5 inch figure with one titled, labelled, lightly gridded set of axes."""
    figure = Figure(figsize=(6, 4.5), dpi=100)
    ax = figure.add_subplot()
    ax.set_title(title)
    ax.set_xlabel(xlabel)
    ax.set_ylabel(ylabel)
    ax.grid(alpha=0.3)
    return figure, ax


def importance_plot(
    importance: pd.Series, title: str = "Feature importance (gain)", top: int = 20
) -> Figure:
    """Horizontal bars of the ``top`` features by gain, the largest at the top."""
    shown = importance.head(top).iloc[::-1]
    figure = Figure(figsize=(6, 0.3 * len(shown) + 1.2), dpi=100)
    ax = figure.add_subplot()
    ax.barh(shown.index, shown.to_numpy())
    ax.set_title(title)
    figure.tight_layout()
    return figure
