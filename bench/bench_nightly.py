"""Benchmark the nightly job end to end on a large demo book: wall time and peak RSS per stage.

The validated demo tables come from ``bench/cached_tables.py`` (generated once per size);
they are turned back into raw contract frames (string account ids) so that the timed run
validates them like a real night. The churn model is trained once on a small demo book
(same features) and exported as a bundle. Also prints how often the fast path reasons
agree with exact TreeSHAP on a sample. Run on demand (not in tests)::

    .venv/bin/python bench/bench_nightly.py --accounts 1000000
"""

from __future__ import annotations

import argparse
import json
import platform
import shutil
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
import pandas as pd

sys.path.insert(0, str(Path(__file__).resolve().parent))

from cached_tables import cached_tables  # noqa: E402

from kam_ml.churn.training import train_churn  # noqa: E402
from kam_ml.data.validation import validate_tables  # noqa: E402
from kam_ml.demo.generate import generate_demo_data  # noqa: E402
from kam_ml.features import build_features  # noqa: E402
from kam_ml.nightly.job import run_nightly  # noqa: E402
from kam_ml.nightly.snapshot import SnapshotFiles  # noqa: E402
from kam_ml.nightly.stages import StageClock, StageTiming  # noqa: E402
from kam_ml.problem.definition import ProblemDefinition  # noqa: E402
from kam_ml.registry.bundle import ModelBundle, load_bundle, save_bundle  # noqa: E402
from kam_ml.registry.champions import ScoringModels  # noqa: E402

HERE = Path(__file__).resolve().parent


def model_bundle(cache: Path) -> ModelBundle:
    """A churn bundle trained on 3,000 demo accounts (cached)."""
    folder = cache / "churn-model-3000"
    if (folder / "metadata.json").is_file():
        return load_bundle(folder, trusted_root=cache)
    demo = generate_demo_data(3000, seed=7)
    tables = validate_tables(
        {n: getattr(demo, n) for n in ("accounts", "orders", "interactions", "categories")}
    ).tables
    result = train_churn(tables, tables.last_date(), ProblemDefinition())
    bundle = ModelBundle(
        model=result.model,
        model_name="kam-churn",
        version="bench",
        feature_names=result.feature_names,
        definition=result.definition,
        training_cutoffs=[str(c.date()) for c in result.split.train_cutoffs],
        validation_cutoffs=[str(c.date()) for c in result.split.validation_cutoffs],
        metrics=result.metrics["model"],
    )
    save_bundle(bundle, folder)
    return load_bundle(folder, trusted_root=cache)


def champion_models(cache: Path) -> ScoringModels:
    """Churn, offers and value champions trained on 3,000 demo accounts by the real
    pipelines into a cached MLflow store (what ``kam-ml train`` registers)."""
    from kam_ml.churn.job import train_and_register_churn
    from kam_ml.offers.job import train_and_register_offers
    from kam_ml.registry.champions import ChampionSource, load_champions
    from kam_ml.registry.tracking import TrackingStore
    from kam_ml.value.job import train_and_register_value

    folder = (cache / "champions-3000").resolve()
    source = ChampionSource(
        tracking_uri=f"sqlite:///{folder / 'mlflow.db'}", models_dir=folder / "models"
    )
    if not (folder / "done").is_file():
        folder.mkdir(parents=True, exist_ok=True)
        demo = generate_demo_data(3000, seed=7)
        tables = validate_tables(
            {n: getattr(demo, n) for n in ("accounts", "orders", "interactions", "categories")}
        ).tables
        store = TrackingStore(str(source.tracking_uri))
        for train in (
            train_and_register_churn,
            train_and_register_offers,
            train_and_register_value,
        ):
            train(
                tables,
                tables.last_date(),
                ProblemDefinition(),
                store,
                folder / "models",
                folder / "reports" / train.__name__,
            )
        (folder / "done").write_text("ok")
    return load_champions(source)


def raw_frames(tables) -> dict[str, pd.DataFrame]:  # type: ignore[no-untyped-def]
    """Validated tables back as contract frames: plain string account ids."""
    raw = {"accounts": tables.accounts, "categories": tables.categories}
    for name in ("orders", "interactions"):
        frame = getattr(tables, name)
        raw[name] = frame.assign(account_id=frame["account_id"].astype(str))
    return raw


def reason_agreement(bundle: ModelBundle, tables, as_of: pd.Timestamp, n: int = 2000) -> dict:  # type: ignore[no-untyped-def]
    features = build_features(tables, as_of, bundle.definition).sample(n, random_state=0)
    X = features[bundle.feature_names]
    start = time.perf_counter()
    path = bundle.model.contributions(X).to_numpy()
    path_s = time.perf_counter() - start
    start = time.perf_counter()
    shap = bundle.model.contributions(X, method="treeshap").to_numpy()
    shap_s = time.perf_counter() - start
    top = lambda v: np.argsort(-v, axis=1, kind="stable")[:, :3]  # noqa: E731
    overlap = np.mean([len(set(a) & set(b)) / 3 for a, b in zip(top(path), top(shap), strict=True)])
    return {
        "rows": n,
        "top1_agreement": float((path.argmax(1) == shap.argmax(1)).mean()),
        "top3_overlap": float(overlap),
        "path_rows_per_s": n / path_s,
        "treeshap_rows_per_s": n / shap_s,
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--accounts", type=int, default=1_000_000)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--cache", type=Path, default=HERE / ".cache")
    parser.add_argument("--out", type=Path, default=None, help="nightly output (default: tmp)")
    parser.add_argument("--skip-agreement", action="store_true")
    parser.add_argument(
        "--churn-only", action="store_true", help="score churn only (no offers/value models)"
    )
    args = parser.parse_args()

    models = (
        ScoringModels(churn=model_bundle(args.cache))
        if args.churn_only
        else (champion_models(args.cache))
    )
    bundle = models.churn
    prepared = cached_tables(args.accounts, args.seed, args.cache)
    tables = prepared.tables
    print(
        f"{args.accounts:,} accounts, {len(tables.orders):,} order lines "
        f"(loaded from cache in {prepared.load_s:.1f} s)",
        flush=True,
    )
    raw = raw_frames(tables)
    del tables, prepared

    def show(t: StageTiming) -> None:
        print(
            f"  {t.stage:<24} {t.seconds:7.1f} s   cpu {t.cpu_seconds:7.1f} s   "
            f"peak {t.peak_rss_gib:5.2f} GiB",
            flush=True,
        )

    # default output under bench/.cache (this machine's /tmp creates files ~10x slower)
    args.cache.mkdir(parents=True, exist_ok=True)
    out = args.out or Path(tempfile.mkdtemp(prefix="nightly-out-", dir=args.cache))
    clock = StageClock(show)
    start = time.perf_counter()
    result = run_nightly(raw, out, models, clock=clock)
    wall = time.perf_counter() - start
    cpu = sum(t.cpu_seconds for t in clock.timings)
    print(
        f"nightly: {wall:.1f} s wall ({cpu:.1f} s CPU), peak RSS {clock.peak_rss_gib:.2f} GiB, "
        f"{result.accounts:,} accounts, {result.managers:,} managers -> {result.directory}"
    )
    files = sum(1 for _ in (result.directory / SnapshotFiles.RISK_LISTS).iterdir())
    record = {
        "machine": {"platform": platform.platform(), "python": platform.python_version()},
        "accounts": args.accounts,
        "order_lines": int(len(raw["orders"])),
        "scored_accounts": result.accounts,
        "models": result.model_versions,
        "managers": result.managers,
        "risk_list_files": files,
        "wall_s": wall,
        "cpu_s": cpu,
        "peak_rss_gib": clock.peak_rss_gib,
        "stages": [t.__dict__ for t in clock.timings],
    }
    del raw
    if not args.skip_agreement:
        tables = cached_tables(args.accounts, args.seed, args.cache).tables
        record["reasons"] = reason_agreement(bundle, tables, result.as_of)
        print("reasons vs TreeSHAP:", record["reasons"])
    results = HERE / "results"
    results.mkdir(exist_ok=True)
    path = results / f"nightly-{time.strftime('%Y%m%d-%H%M%S')}.json"
    path.write_text(json.dumps(record, indent=2), encoding="utf-8")
    print(f"results: {path}")
    if args.out is None:
        shutil.rmtree(out, ignore_errors=True)


if __name__ == "__main__":
    main()
