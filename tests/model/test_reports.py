"""The churn, offer and value reports all render through the one model-report template."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pandas as pd
import pytest

from kam_ml.churn.model import ChurnModel
from kam_ml.churn.report import write_churn_report
from kam_ml.churn.training import ChurnTrainingResult, train_churn
from kam_ml.offers.report import write_offer_report
from kam_ml.problem.definition import ProblemDefinition
from kam_ml.reporting import html as reporting_html
from kam_ml.value.report import write_value_report

# domain -> (writer, result fixture, figure stems, CSV stems)
REPORTS = {
    "churn": (
        write_churn_report,
        "churn_result",
        ("roc_curve", "pr_curve", "calibration", "lift_curve", "feature_importance"),
        ("metrics", "slice_metrics", "feature_importance"),
    ),
    "offers": (
        write_offer_report,
        "offer_result",
        ("ndcg_by_k", "recall_by_k", "calibration", "category_mix", "feature_importance"),
        ("metrics", "metrics_by_k", "feature_importance"),
    ),
    "value": (
        write_value_report,
        "value_result",
        ("predicted_vs_actual", "decile_calibration", "feature_importance"),
        ("metrics", "deciles", "feature_importance"),
    ),
}


@pytest.fixture(scope="module")
def churn_result(demo_tables, demo_as_of) -> ChurnTrainingResult:
    model = ChurnModel(n_estimators=60)
    return train_churn(demo_tables, demo_as_of, ProblemDefinition(), model=model)


@dataclass(frozen=True)
class Written:
    """One report written once for the module's tests, with the templates it rendered."""

    result: Any
    page: Path
    templates: list[str]


@pytest.fixture(scope="module", params=list(REPORTS))
def written(request, tmp_path_factory) -> Written:
    write, fixture, _, _ = REPORTS[request.param]
    result = request.getfixturevalue(fixture)
    templates: list[str] = []
    real_render = reporting_html.render

    def spy(template: str, **context: object) -> str:
        templates.append(template)
        return real_render(template, **context)

    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(reporting_html, "render", spy)
        page = write(result, tmp_path_factory.mktemp(request.param))
    return Written(result, page, templates)


def test_each_report_renders_through_the_one_template(written, request):
    _, _, figures, tables = REPORTS[request.node.callspec.id]
    out_dir = written.page.parent

    assert written.templates == ["model_report.html"]
    assert written.page.name == "report.html"
    text = written.page.read_text(encoding="utf-8")
    assert text.count("<style>") == 1 and '<main class="model-report">' in text
    assert f"<h1>{text.split('<title>')[1].split('</title>')[0]}</h1>" in text
    for stem in figures:
        assert (out_dir / f"{stem}.png").stat().st_size > 0, stem
        assert f'<img src="{stem}.png" alt="{stem}">' in text, stem
    assert sorted(p.stem for p in out_dir.glob("*.csv")) == sorted(tables)


def test_report_tables_carry_the_result_metrics(written):
    result, out_dir = written.result, written.page.parent
    text = written.page.read_text(encoding="utf-8")

    metrics = pd.read_csv(out_dir / "metrics.csv", index_col="scorer")
    assert list(metrics.index) == list(result.metrics)
    for scorer, values in result.metrics.items():
        for name, value in values.items():
            assert metrics.loc[scorer, name] == pytest.approx(value, nan_ok=True), (scorer, name)
    first_scorer, first_values = next(iter(result.metrics.items()))
    shown = f"{next(iter(first_values.values())):,.4g}"
    assert f"<th>{first_scorer}</th>\n      <td>{shown}</td>" in text

    importance = pd.read_csv(out_dir / "feature_importance.csv", index_col=0)
    pd.testing.assert_series_equal(
        importance["gain"], result.model.feature_importances_.rename("gain"), check_names=False
    )
