"""The shared shape of the offer and value HTML reports: a titled page, tables and figures."""

from __future__ import annotations

import html
from collections.abc import Iterable
from pathlib import Path

import pandas as pd
from matplotlib.figure import Figure

__all__ = ["figures_html", "save_figures", "table_html", "write_page"]

_STYLE = """body{font-family:sans-serif;margin:2em;max-width:1100px}
table{border-collapse:collapse;margin:1em 0}td,th{border:1px solid #ccc;padding:4px 8px;
text-align:right}figure{display:inline-block;margin:0.5em}img{max-width:520px}"""


def table_html(frame: pd.DataFrame, index: bool = True) -> str:
    if not len(frame):
        return "<p>(none)</p>"
    return frame.to_html(index=index, float_format=lambda v: f"{v:,.4g}", escape=True)


def save_figures(figures: dict[str, Figure], out_dir: Path) -> list[str]:
    """Write each figure as ``<stem>.png``; return the stems in order."""
    for stem, figure in figures.items():
        figure.savefig(out_dir / f"{stem}.png", bbox_inches="tight")
    return list(figures)


def figures_html(stems: Iterable[str]) -> str:
    return "".join(
        f'<figure><img src="{s}.png" alt="{s}"><figcaption>{s}</figcaption></figure>' for s in stems
    )


def write_page(path: Path, title: str, sections: list[tuple[str, str]]) -> Path:
    """``sections``: (heading, HTML body) pairs; headings are escaped, bodies are not."""
    body = "".join(f"<h2>{html.escape(h)}</h2>{content}" for h, content in sections)
    page = (
        f'<!doctype html><html><head><meta charset="utf-8"><title>{html.escape(title)}</title>'
        f"<style>{_STYLE}</style></head><body><h1>{html.escape(title)}</h1>{body}</body></html>"
    )
    path.write_text(page, encoding="utf-8")
    return path
