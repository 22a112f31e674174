"""The churn model report a person reads: KPIs, metrics vs baselines, slices and plots."""

from __future__ import annotations

import html
from pathlib import Path

import numpy as np
import pandas as pd

from kam_ml.churn.training import ChurnTrainingResult
from kam_ml.reporting.figures import churn_plots

__all__ = ["validation_kpis", "write_churn_report"]


def validation_kpis(result: ChurnTrainingResult) -> dict[str, float]:
    """Key-account KPIs over the validation cutoffs, in the business's own terms."""
    validation = result.validation
    lost = validation["churned"] == 1
    revenue = validation["revenue_365d"].fillna(0.0)
    k = max(1, int(np.ceil(len(validation) * 0.1)))
    top = validation["churn_probability"].rank(ascending=False, method="first") <= k
    lost_revenue = float(revenue[lost].sum())
    return {
        "retention_rate": float(1.0 - lost.mean()),
        "revenue_365d_of_churned_accounts": lost_revenue,
        "share_of_lost_revenue_in_top_decile": (
            float(revenue[lost & top].sum() / lost_revenue) if lost_revenue > 0 else float("nan")
        ),
        "accounts_validated": float(len(validation)),
    }


def write_churn_report(result: ChurnTrainingResult, out_dir: Path) -> Path:
    """Write plots (PNG), tables (CSV) and ``report.html`` into ``out_dir``; return the HTML."""
    out_dir.mkdir(parents=True, exist_ok=True)
    figures = churn_plots(result.validation, result.model.feature_importances_)
    for stem, figure in figures.items():
        figure.savefig(out_dir / f"{stem}.png", bbox_inches="tight")
    metrics = pd.DataFrame(result.metrics).T
    metrics.index.name = "scorer"
    metrics.to_csv(out_dir / "metrics.csv")
    result.slices.to_csv(out_dir / "slice_metrics.csv", index=False)
    importance = result.model.feature_importances_.rename("gain").to_frame()
    importance.to_csv(out_dir / "feature_importance.csv")
    kpis = pd.Series(validation_kpis(result), name="value").to_frame()

    images = "".join(
        f'<figure><img src="{stem}.png" alt="{stem}"><figcaption>{stem}</figcaption></figure>'
        for stem in figures
    )
    definition = pd.Series(result.definition.to_dict(), name="value").to_frame()
    page = f"""<!doctype html><html><head><meta charset="utf-8">
<title>kam-ml churn model report</title>
<style>body{{font-family:sans-serif;margin:2em;max-width:1100px}}
table{{border-collapse:collapse;margin:1em 0}}td,th{{border:1px solid #ccc;padding:4px 8px;
text-align:right}}figure{{display:inline-block;margin:0.5em}}img{{max-width:520px}}</style>
</head><body>
<h1>Churn model report — as of {result.as_of.date()}</h1>
<p>Validation cutoffs: {", ".join(str(c.date()) for c in result.split.validation_cutoffs)};
training cutoffs: {len(result.split.train_cutoffs)} from
{result.split.train_cutoffs[0].date()} to {result.split.train_cutoffs[-1].date()}.</p>
<h2>Key account KPIs at the validation cutoffs</h2>{_table(kpis)}
<h2>Model vs baselines</h2>{_table(metrics)}
<h2>Metrics by segment, region and manager</h2>{_table(result.slices, index=False)}
<h2>Plots</h2>{images}
<h2>Problem definition</h2>{_table(definition)}
</body></html>"""
    path = out_dir / "report.html"
    path.write_text(page, encoding="utf-8")
    return path


def _table(frame: pd.DataFrame, index: bool = True) -> str:
    return (
        frame.to_html(index=index, float_format=lambda v: f"{v:,.4g}", escape=True).replace(
            "<table", '<table class="data"'
        )
        if len(frame)
        else f"<p>{html.escape('(none)')}</p>"
    )
