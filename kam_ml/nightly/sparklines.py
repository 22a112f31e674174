"""A small inline SVG per risk-list row: the account's churn probability over the last nights.

Built for the whole list at once: every coordinate comes from a lookup table of strings and
the per-row SVG is joined column by column with numpy's object arrays, so a million rows
cost about as much as a few string concatenations each (no per-row formatting).
"""

from __future__ import annotations

import numpy as np

from kam_ml.nightly.history import HISTORY_NIGHTS

__all__ = ["sparklines"]

_STEP, _PAD, _HEIGHT = 6, 2, 20
_WIDTH = 2 * _PAD + _STEP * (HISTORY_NIGHTS - 1)
# y of probability 0.5 (the high band's threshold): a faint reference line
_HIGH_LINE = _PAD + _HEIGHT // 2


def sparklines(probability: np.ndarray) -> list[str]:
    """One ``<svg>`` per row of ``probability`` (rows: accounts; columns: nights oldest
    first, NaN where not scored; the last column is tonight's). Tonight is the dot at the
    right edge; the label reads "Risk over 5 nights: 31% → 43%" for screen readers and
    as a tooltip."""
    rows, nights = probability.shape
    if rows == 0:
        return []
    nights = min(nights, HISTORY_NIGHTS)
    probability = probability[:, -nights:] if nights else probability[:, :0]
    present = ~np.isnan(probability)
    y = np.where(present, np.rint(_PAD + (1 - np.clip(probability, 0, 1)) * _HEIGHT), -1)
    y = y.astype(np.intp)
    points = np.full(rows, "", dtype=object)
    first_slot = HISTORY_NIGHTS - nights
    for k in range(nights):
        x = _PAD + _STEP * (first_slot + k)
        table = np.array([f"{x},{v} " for v in range(_PAD + _HEIGHT + 1)] + [""], dtype=object)
        points = points + table[y[:, k]]
    percent = np.array([f"{v}%" for v in range(101)] + ["–"], dtype=object)
    pct = np.where(present, np.rint(np.clip(probability, 0, 1) * 100), 101).astype(np.intp)
    first = np.argmax(present, axis=1) if nights else np.zeros(rows, dtype=np.intp)
    counts = present.sum(axis=1)
    last = pct[:, -1] if nights else np.full(rows, 101)
    start = pct[np.arange(rows), first] if nights else last
    count_words = np.array(
        [f"Risk over {c} night{'s' if c != 1 else ''}: " for c in range(nights + 1)], dtype=object
    )
    label = count_words[counts] + percent[start] + " → " + percent[last]
    dot_x = _PAD + _STEP * (HISTORY_NIGHTS - 1)
    dot = np.array(
        [f'<circle cx="{dot_x}" cy="{v}" r="2" fill="#333"/>' for v in range(_PAD + _HEIGHT + 1)]
        + [""],
        dtype=object,
    )
    tonight = y[:, -1] if nights else np.full(rows, -1)
    svg = (
        f'<svg class="spark" width="{_WIDTH}" height="{_HEIGHT + 2 * _PAD}" role="img" '
        'aria-label="'
        + label
        + '"><title>'
        + label
        + f'</title><line x1="0" x2="{_WIDTH}" y1="{_HIGH_LINE}" y2="{_HIGH_LINE}" '
        'stroke="#f8696b" stroke-width="0.5"/><polyline fill="none" stroke="#555" '
        'stroke-width="1" points="' + points + '"/>' + dot[tonight] + "</svg>"
    )
    return list(svg)
