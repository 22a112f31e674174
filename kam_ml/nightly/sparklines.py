"""A small inline SVG per risk-list row: the account's churn probability over the last nights.

Built for the whole list at once as a byte matrix: every point is a fixed-width chunk
(" 62,12 ", spaces where the account was not scored; SVG takes any whitespace between
points) picked from a lookup table, so a million rows cost numpy gathers and one
conversion to text, with no per-row formatting.
"""

from __future__ import annotations

import numpy as np

from kam_ml.nightly.history import HISTORY_NIGHTS

__all__ = ["sparklines"]

_STEP, _PAD, _HEIGHT = 6, 2, 20
_WIDTH = 2 * _PAD + _STEP * (HISTORY_NIGHTS - 1)
_POINT = 7  # " xx,yy " fits every x (<= 68) and y (<= 22)
# the size, stroke and the faint line at probability 0.5 (the high band's threshold) are
# the page's CSS (``.spark`` in risk_list.html), not repeated on every row
_HEAD = (
    f'<svg class="spark" viewBox="0 0 {_WIDTH} {_HEIGHT + 2 * _PAD}" role="img" '
    'aria-label="Churn probability, last nights"><polyline points="'
)
_DOT_X = _PAD + _STEP * (HISTORY_NIGHTS - 1)


def sparklines(probability: np.ndarray) -> list[str]:
    """One ``<svg>`` per row of ``probability`` (rows: accounts; columns: nights oldest
    first, NaN where not scored; the last column is tonight's, drawn as a dot at the right
    edge; at most ``HISTORY_NIGHTS`` are drawn)."""
    rows = probability.shape[0]
    nights = min(probability.shape[1], HISTORY_NIGHTS)
    if rows == 0:
        return []
    probability = probability[:, probability.shape[1] - nights :]
    levels = _PAD + _HEIGHT + 1
    present = ~np.isnan(probability)
    y = np.rint(_PAD + (1 - np.clip(np.nan_to_num(probability), 0, 1)) * _HEIGHT)
    y = np.where(present, y, levels).astype(np.intp)  # ``levels``: the blank chunk
    parts = [np.frombuffer(_HEAD.encode(), dtype=np.uint8)[None, :].repeat(rows, axis=0)]
    first_slot = HISTORY_NIGHTS - nights
    for k in range(nights):
        x = _PAD + _STEP * (first_slot + k)
        chunks = [f"{x:>3},{v:<2} ".encode() for v in range(levels)] + [b" " * _POINT]
        parts.append(_table(chunks)[y[:, k]])
    dots = [f'"/><circle cx="{_DOT_X}" cy="{v:>2}" r="2"/></svg>' for v in range(levels)]
    dots.append(" " * (len(dots[0]) - 9) + '"/></svg>')  # blanks inside the attribute
    tonight = y[:, -1] if nights else np.full(rows, levels)
    parts.append(_table([d.encode() for d in dots])[tonight])
    matrix = np.ascontiguousarray(np.concatenate(parts, axis=1))
    return [b.decode() for b in matrix.view(f"S{matrix.shape[1]}").ravel().tolist()]


def _table(chunks: list[bytes]) -> np.ndarray:
    """Equal-length byte strings as a (len, width) uint8 matrix, for gathering by row."""
    width = len(chunks[0])
    assert all(len(c) == width for c in chunks)
    return np.frombuffer(b"".join(chunks), dtype=np.uint8).reshape(len(chunks), width)
