"""HTML pages (risk lists, portfolio summary) rendered from the package's Jinja2 templates."""

from __future__ import annotations

from functools import cache
from typing import Any

import jinja2

__all__ = ["render"]


@cache
def _environment() -> jinja2.Environment:
    environment = jinja2.Environment(
        loader=jinja2.PackageLoader("kam_ml.reporting", "templates"),
        autoescape=jinja2.select_autoescape(["html"]),
        trim_blocks=True,
        lstrip_blocks=True,
    )
    environment.filters["pct"] = lambda v, d=1: "–" if v is None else f"{v:.{d}%}"
    environment.filters["money"] = lambda v: "–" if v is None else f"{v:,.0f}"
    environment.filters["pts"] = lambda v: "–" if v is None else f"{v * 100:+.1f} pts"
    return environment


def render(template: str, **context: Any) -> str:
    """Render ``kam_ml/templates/<template>`` with ``context`` (autoescaped)."""
    return _environment().get_template(template).render(**context)
