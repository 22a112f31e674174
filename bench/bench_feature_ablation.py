"""Feature ablation: churn ROC-AUC of the production features plus each candidate group, per book.

A candidate group (``kam_ml.features.build.CANDIDATE_GROUPS`` and BG/NBD's
``kam_ml.science.bgnbd_group``) is kept only when it raises ROC-AUC on *every* book and
hurts none. Protocol per book and variant, the path of ``kam-ml train`` then
``kam-ml score``: at an as-of T whose label window (T, T + H] is inside the data,
``train_churn(tables, T, ProblemDefinition().with_horizon(H), groups=...)`` (its validation
ROC-AUC is reported too), then ``refit_churn`` (the registered model is the refit), then the
accounts active at T are scored from ``build_features`` at T and judged against "no order
in (T, T + H]". Books: the demo generator (3,000 accounts, seeds 7 and 3), the BTYD
generator (3,000 accounts, seeds 3 and 7), and CDNOW (if cached) at the six benchmark
settings plus the headline 1998-03-31 / 91 days (a setting ``kam-ml train`` refuses with its default
layout, NotEnoughHistoryError, is reported and skipped). Progress is printed as each fit ends and
the results are rewritten to ``bench/results/feature_ablation.json`` after each, so a
stopped run keeps what it measured. Run on demand (not in tests)::

    .venv/bin/python bench/bench_feature_ablation.py                     # everything
    .venv/bin/python bench/bench_feature_ablation.py --books demo btyd --variants base lifetime
    .venv/bin/python bench/bench_feature_ablation.py --keep lifetime expected  # + kept row
"""

from __future__ import annotations

import argparse
import json
import platform
import sys
import time
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd
from rich.console import Console
from rich.table import Table
from sklearn.metrics import roc_auc_score

from kam_ml.churn.training import refit_churn, train_churn
from kam_ml.data.tables import Tables
from kam_ml.data.validation import validate_tables
from kam_ml.demo.btyd_book import generate_btyd_book
from kam_ml.demo.generate import DemoData, generate_demo_data
from kam_ml.errors import NotEnoughHistoryError
from kam_ml.features import build_features
from kam_ml.features.build import CANDIDATE_GROUPS, FEATURE_GROUPS
from kam_ml.features.registry import FeatureGroup
from kam_ml.problem.definition import ProblemDefinition
from kam_ml.problem.labels import churn_labels
from kam_ml.science.bgnbd_group import BGNBD_GROUP
from kam_ml.science.cdnow import cached_cdnow, load_cdnow_tables
from kam_ml.science.cdnow_benchmark import DEFAULT_SETTINGS

RESULTS = Path(__file__).resolve().parent / "results" / "feature_ablation.json"
END = pd.Timestamp("2026-10-31")
HORIZON = 90
ACCOUNTS = 3000
GROUPS: dict[str, FeatureGroup] = {**CANDIDATE_GROUPS, "bgnbd": BGNBD_GROUP}
KEPT = [name for name, g in CANDIDATE_GROUPS.items() if g in FEATURE_GROUPS]
# "base" is production without the groups the ablation kept: the four original groups.
BASE_GROUPS = tuple(g for g in FEATURE_GROUPS if g not in CANDIDATE_GROUPS.values())
CDNOW_SETTINGS = [(pd.Timestamp("1998-03-31"), 91)] + [
    (s.as_of, s.horizon_days) for s in DEFAULT_SETTINGS
]  # the headline first


@dataclass(frozen=True)
class Setting:
    """One book at one as-of date and horizon."""

    book: str  # "demo", "btyd" or "cdnow"
    label: str  # e.g. "demo seed 7", "cdnow 1998-03-31/91"
    tables: Tables
    as_of: pd.Timestamp
    horizon_days: int


def main(argv: Sequence[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--books", nargs="+", default=["demo", "btyd", "cdnow"])
    parser.add_argument("--variants", nargs="+", default=["base", *GROUPS])
    parser.add_argument(
        "--keep",
        nargs="*",
        default=KEPT,
        help="groups of the 'kept' variant (default: those production kept, none today)",
    )
    parser.add_argument("--seeds", nargs="+", type=int, default=[7, 3])
    parser.add_argument(
        "--cdnow-settings",
        nargs="+",
        default=[_label(day, horizon) for day, horizon in CDNOW_SETTINGS],
        help="as-of/horizon pairs such as 1998-03-31/91 (default: all seven)",
    )
    parser.add_argument("--out", type=Path, default=RESULTS)
    args = parser.parse_args(argv)
    unknown = sorted(set(args.variants + args.keep) - {"base", *GROUPS})
    if unknown:
        raise SystemExit(f"Unknown group(s) {unknown}: choose from base, {', '.join(GROUPS)}.")
    variants = {v: [] if v == "base" else [v] for v in args.variants}
    if args.keep and (len(args.keep) > 1 or args.keep[0] not in variants):
        variants["kept"] = list(args.keep)  # one kept group: its own row is the kept row
    console = Console()
    rows: list[dict[str, object]] = _previous(args.out)
    for setting in _settings(args.books, args.seeds, args.cdnow_settings):
        for name, extra in variants.items():
            start = time.perf_counter()
            try:
                validation_auc, scored_auc = run_variant(setting, [GROUPS[g] for g in extra])
            except NotEnoughHistoryError as error:  # as `kam-ml train` would stop
                console.print(f"{setting.label}: skipped, kam-ml train stops: {error}")
                break
            row = {
                "book": setting.book,
                "setting": setting.label,
                "variant": name,
                "groups": extra,
                "validation_roc_auc": validation_auc,
                "scored_roc_auc": scored_auc,
                "seconds": round(time.perf_counter() - start, 1),
            }
            rows = [r for r in rows if (r["setting"], r["variant"]) != (setting.label, name)]
            rows.append(row)
            console.print(
                f"{setting.label:<22} {name:<15} validation {validation_auc:.4f}  "
                f"scored {scored_auc:.4f}  ({row['seconds']}s)"
            )
            _write(args.out, rows)
    console.print(ablation_table(pd.DataFrame(rows)))


def run_variant(setting: Setting, extra: Sequence[FeatureGroup]) -> tuple[float, float]:
    """Validation ROC-AUC of ``train_churn`` and ROC-AUC of the refit scoring at T."""
    definition = ProblemDefinition().with_horizon(setting.horizon_days)
    groups = (*BASE_GROUPS, *extra)
    result = train_churn(setting.tables, setting.as_of, definition, groups=groups)
    validation_auc = float(result.metrics["model"]["roc_auc"])
    model = refit_churn(result).result.model
    features = build_features(setting.tables, setting.as_of, definition, groups=groups)
    labels = churn_labels(setting.tables, features, definition)
    probability = model.predict_proba(features[list(model.feature_names_in_)])[:, 1]
    return validation_auc, float(roc_auc_score(labels, probability))


def ablation_table(results: pd.DataFrame) -> Table:
    """Per variant and book: mean scored ROC-AUC and its delta vs base (mean over settings)."""
    table = Table(title="Churn ROC-AUC at T after refit: delta vs base (mean over settings)")
    books = list(dict.fromkeys(results["book"]))
    table.add_column("variant")
    for book in books:
        table.add_column(book, justify="right")
    pivot = results.pivot_table(index="variant", columns="setting", values="scored_roc_auc")
    book_of = dict(zip(results["setting"], results["book"], strict=False))
    for variant in dict.fromkeys(results["variant"]):
        cells = []
        for book in books:
            settings = [s for s in pivot.columns if book_of[s] == book]
            value = pivot.loc[variant, settings].mean()
            if variant == "base":
                cells.append(f"{value:.4f}")
            else:
                delta = (pivot.loc[variant, settings] - pivot.loc["base", settings]).mean()
                cells.append(f"{delta:+.4f}")
        table.add_row(variant, *cells)
    return table


def _settings(
    books: Sequence[str], seeds: Sequence[int], cdnow_settings: Sequence[str]
) -> Iterator[Setting]:
    as_of = END - pd.Timedelta(days=HORIZON)
    for book in books:
        if book in ("demo", "btyd"):
            for seed in seeds:
                if book == "demo":
                    data = generate_demo_data(n_accounts=ACCOUNTS, seed=seed, end_date=END)
                else:
                    data = generate_btyd_book(n_accounts=ACCOUNTS, seed=seed, end_date=END)
                yield Setting(book, f"{book} seed {seed}", _tables(data), as_of, HORIZON)
        elif book == "cdnow":
            path = cached_cdnow()
            if path is None:
                print("CDNOW is not cached; skipping it.", file=sys.stderr)
                continue
            tables = load_cdnow_tables(path)
            for label in cdnow_settings:
                day, horizon = label.split("/")
                yield Setting("cdnow", f"cdnow {label}", tables, pd.Timestamp(day), int(horizon))
        else:
            raise SystemExit(f"Unknown book {book!r}: choose from demo, btyd, cdnow.")


def _label(day: pd.Timestamp, horizon: int) -> str:
    return f"{day.date()}/{horizon}"


def _tables(data: DemoData) -> Tables:
    raw = data.raw_tables()
    return validate_tables(raw, on_bad_rows="refuse").tables


def _previous(path: Path) -> list[dict[str, object]]:
    if not path.exists():
        return []
    return list(json.loads(path.read_text())["results"])


def _write(path: Path, rows: list[dict[str, object]]) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    payload = {
        "machine": {"python": platform.python_version(), "platform": platform.platform()},
        "horizon_days_generated": HORIZON,
        "accounts_generated": ACCOUNTS,
        "results": rows,
    }
    path.write_text(json.dumps(payload, indent=2, default=_jsonable))


def _jsonable(value: object) -> object:
    if isinstance(value, np.generic):
        return value.item()
    return str(value)


if __name__ == "__main__":
    main()
