"""The portfolio summary: KAM KPIs per manager, region and segment, and value x risk.

KPIs, per group of currently active accounts:
  retention_rate   share of the accounts active one horizon ago (T - H) that ordered in
                   (T - H, T]: the realised retention over the last horizon (churn labels
                   at cutoff T - H, so the definition is the model's own);
  aov_90d          average order value over the last 90 days (revenue / orders), and
  aov_trend        its change against the 90 days before T - H's window (aov at T - H);
  revenue_at_risk  sum of the accounts' revenue at risk; high / medium / low: accounts per band.
The value x risk matrix crosses value tiers (revenue over the last 12 months: bottom 50%,
next 30%, top 20% of active accounts) with risk bands; each tier is labelled with its
revenue range, "Top 20% (≥ 48,200)" (the cut points rounded to three figures).
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
from matplotlib.figure import Figure

from kam_ml.reporting.html import render
from kam_ml.reporting.xlsx import Column, Sheet, xlsx_bytes

__all__ = ["Portfolio", "portfolio_summary", "value_tier_labels", "write_portfolio"]

GROUPS = ("manager", "region", "segment")
VALUE_TIERS = ("low value", "mid value", "top value")
_BANDS = ("high", "medium", "low")


@dataclass(frozen=True)
class Portfolio:
    """KPI tables keyed by grouping, the overall row, and the value x risk matrices."""

    kpis: dict[str, pd.DataFrame]
    overall: pd.DataFrame
    matrix_accounts: pd.DataFrame
    matrix_revenue_at_risk: pd.DataFrame


def portfolio_summary(
    explained: pd.DataFrame,
    features_now: pd.DataFrame,
    features_before: pd.DataFrame,
    retained_before: np.ndarray,
    accounts: pd.DataFrame,
) -> Portfolio:
    """KPIs from tonight's explained scores and features, and the features (with realised
    retention) of the accounts active one horizon ago."""
    profile = accounts.set_index("account_id")[list(GROUPS)]
    now = explained[["account_id", *GROUPS, "risk_band", "revenue_at_risk", "revenue_365d"]].copy()
    now_features = features_now.set_index("account_id").reindex(now["account_id"])
    now["revenue_90d"] = now_features["revenue_90d"].to_numpy(dtype=float)
    now["orders_90d"] = now_features["orders_90d"].to_numpy(dtype=float)
    before = profile.reindex(features_before["account_id"]).reset_index()
    before["retained"] = np.asarray(retained_before, dtype=float)
    before["revenue_90d"] = features_before["revenue_90d"].to_numpy(dtype=float)
    before["orders_90d"] = features_before["orders_90d"].to_numpy(dtype=float)
    kpis = {group: _kpis(now, before, group) for group in GROUPS}
    overall = _kpis(now.assign(all="all"), before.assign(all="all"), "all")
    tiers, labels = _value_tiers(now["revenue_365d"].to_numpy(dtype=float))
    now["value_tier"] = pd.Categorical(tiers, categories=VALUE_TIERS).rename_categories(labels)
    now["risk_band"] = pd.Categorical(now["risk_band"], categories=_BANDS)
    matrix_accounts = pd.crosstab(now["value_tier"], now["risk_band"], dropna=False)
    matrix_risk = now.pivot_table(
        index="value_tier",
        columns="risk_band",
        values="revenue_at_risk",
        aggfunc="sum",
        observed=False,
    ).fillna(0.0)
    return Portfolio(kpis, overall, matrix_accounts, matrix_risk)


def write_portfolio(
    portfolio: Portfolio, out_dir: Path, as_of: str, index_href: str | None = None
) -> list[Path]:
    """``portfolio.html``, ``portfolio.xlsx`` and the PNG plots they show; ``index_href``
    links the page to the risk lists' index (relative to ``out_dir``; None: no link)."""
    out_dir.mkdir(parents=True, exist_ok=True)
    written = []
    for name, figure in _plots(portfolio).items():
        path = out_dir / f"{name}.png"
        figure.savefig(path, format="png", metadata={"Software": None})
        written.append(path)
    sheets = [_sheet("Overall", portfolio.overall)]
    sheets += [_sheet(f"By {group}", table) for group, table in portfolio.kpis.items()]
    sheets.append(_matrix_sheet("Value x risk (accounts)", portfolio.matrix_accounts, "int"))
    sheets.append(
        _matrix_sheet("Value x risk (at risk)", portfolio.matrix_revenue_at_risk, "money")
    )
    (out_dir / "portfolio.xlsx").write_bytes(xlsx_bytes(sheets))
    html = render(
        "portfolio.html",
        as_of=as_of,
        overall=_records(portfolio.overall)[0],
        tables={group: _records(table) for group, table in portfolio.kpis.items()},
        matrix_accounts=portfolio.matrix_accounts,
        matrix_risk=portfolio.matrix_revenue_at_risk,
        plots=[p.name for p in written],
        index_href=index_href,
    )
    (out_dir / "portfolio.html").write_text(html, encoding="utf-8")
    return [*written, out_dir / "portfolio.xlsx", out_dir / "portfolio.html"]


def _kpis(now: pd.DataFrame, before: pd.DataFrame, group: str) -> pd.DataFrame:
    current = now.groupby(group, sort=True)
    table = pd.DataFrame(
        {
            "accounts": current.size(),
            "revenue_at_risk": current["revenue_at_risk"].sum(),
            # one vectorised count per band (a Python lambda per group cost a minute at 1M)
            **{band: (now["risk_band"] == band).groupby(now[group]).sum() for band in _BANDS},
        }
    )
    revenue, orders = current["revenue_90d"].sum(), current["orders_90d"].sum()
    table["aov_90d"] = revenue / orders.where(orders > 0)
    past = before.groupby(group, sort=True)
    past_aov = past["revenue_90d"].sum() / past["orders_90d"].sum().where(lambda o: o > 0)
    table["aov_trend"] = table["aov_90d"] / past_aov.reindex(table.index) - 1.0
    table["retention_rate"] = past["retained"].mean().reindex(table.index)
    table["accounts_at_t_minus_h"] = past.size().reindex(table.index).fillna(0).astype(int)
    columns = ["accounts", "retention_rate", "aov_90d", "aov_trend", "revenue_at_risk", *_BANDS]
    return table[[*columns, "accounts_at_t_minus_h"]].rename_axis(group).reset_index()


def _value_tiers(revenue: np.ndarray) -> tuple[np.ndarray, list[str]]:
    """Each account's tier of ``VALUE_TIERS``, and the tiers' labels with their ranges."""
    if len(revenue) == 0:
        return np.array([], dtype=object), list(VALUE_TIERS)
    cut_mid, cut_top = np.quantile(revenue, [0.5, 0.8])
    tiers = np.select(
        [revenue >= cut_top, revenue >= cut_mid], [VALUE_TIERS[2], VALUE_TIERS[1]], VALUE_TIERS[0]
    ).astype(object)
    return tiers, value_tier_labels(float(cut_mid), float(cut_top))


def value_tier_labels(cut_mid: float, cut_top: float) -> list[str]:
    """The labels of ``VALUE_TIERS`` given the revenue cut points (the 50th and 80th
    percentiles of revenue over the last 12 months), in the same order."""
    mid, top = _three_figures(cut_mid), _three_figures(cut_top)
    return [
        f"Bottom 50% (< {mid})",
        f"Next 30% ({mid} – {top})" if top != mid else f"Next 30% ({mid})",
        f"Top 20% (≥ {top})",
    ]


def _three_figures(value: float) -> str:
    """48,213.7 -> "48,200"; 812.5 -> "812"; 5.234 -> "5.23"; 0 -> "0"."""
    if value == 0 or not np.isfinite(value):
        return f"{value:,.0f}"
    magnitude = int(np.floor(np.log10(abs(value))))
    if magnitude < 2:
        return f"{value:,.3g}"
    return f"{round(value, 2 - magnitude):,.0f}"


_KPI_FORMATS = {
    "accounts": ("Accounts", 10, "int"),
    "retention_rate": ("Retention (last horizon)", 14, "percent"),
    "aov_90d": ("Avg order value 90d", 14, "money"),
    "aov_trend": ("AOV trend", 10, "change"),
    "revenue_at_risk": ("Revenue at risk", 14, "money"),
    "high": ("High risk", 9, "int"),
    "medium": ("Medium risk", 9, "int"),
    "low": ("Low risk", 9, "int"),
    "accounts_at_t_minus_h": ("Accounts one horizon ago", 12, "int"),
}


def _sheet(name: str, table: pd.DataFrame) -> Sheet:
    key = table.columns[0]
    columns = [Column(str(key).title(), 24)] + [Column(*_KPI_FORMATS[c]) for c in table.columns[1:]]
    return Sheet(name, columns, [[_plain(v) for v in row] for row in table.itertuples(index=False)])


def _matrix_sheet(name: str, matrix: pd.DataFrame, fmt: str) -> Sheet:
    columns = [Column("Value tier (revenue last 12m)", 14)] + [
        Column(f"{band} risk", 12, fmt) for band in matrix.columns
    ]
    rows = [[str(tier), *(_plain(v) for v in values)] for tier, values in matrix.iterrows()]
    return Sheet(name, columns, rows)


def _records(table: pd.DataFrame) -> list[dict[str, Any]]:
    return [{k: _plain(v) for k, v in row.items()} for row in table.to_dict("records")]


def _plain(value: object) -> object:
    if isinstance(value, np.generic):
        value = value.item()
    if isinstance(value, float) and not np.isfinite(value):
        return None
    return value


def _plots(portfolio: Portfolio) -> dict[str, Figure]:
    colours = {"high": "#f8696b", "medium": "#ffd966", "low": "#63be7b"}
    region = portfolio.kpis["region"].set_index("region")
    figure = Figure(figsize=(6, 3.5), dpi=100)
    axes = figure.add_subplot()
    bottom = np.zeros(len(region))
    for band in _BANDS:
        axes.bar(
            region.index.astype(str), region[band], bottom=bottom, color=colours[band], label=band
        )
        bottom += region[band].to_numpy()
    axes.set_title("Active accounts per risk band, by region")
    axes.legend()
    figure.tight_layout()
    heat = Figure(figsize=(5, 3.5), dpi=100)
    ax = heat.add_subplot()
    values = portfolio.matrix_revenue_at_risk.to_numpy(dtype=float)
    ax.imshow(values, cmap="Reds")
    ax.set_xticks(
        range(values.shape[1]), [f"{b} risk" for b in portfolio.matrix_revenue_at_risk.columns]
    )
    ax.set_yticks(range(values.shape[0]), list(portfolio.matrix_revenue_at_risk.index.astype(str)))
    for (i, j), v in np.ndenumerate(values):
        ax.text(j, i, f"{v:,.0f}", ha="center", va="center", fontsize=8)
    ax.set_title("Revenue at risk: value tier x risk band")
    heat.tight_layout()
    segment = portfolio.kpis["segment"].set_index("segment")
    trend = Figure(figsize=(6, 3.5), dpi=100)
    ax = trend.add_subplot()
    ax.bar(segment.index.astype(str), segment["aov_trend"].fillna(0.0) * 100, color="#1f4e79")
    ax.axhline(0, color="black", linewidth=0.8)
    ax.set_ylabel("% change")
    ax.set_title("Average order value trend by segment")
    trend.tight_layout()
    return {"bands_by_region": figure, "value_risk_matrix": heat, "aov_trend_by_segment": trend}
