"""Benchmark the nightly job end to end on a large demo book: wall and CPU time, peak RSS per stage.

The validated demo tables come from ``bench/cached_tables.py`` (generated once per size);
they are turned back into raw contract frames (string account ids) so that the timed run
validates them like a real night. The champions (churn, offers, value) are trained once on
a small demo book (same features) into a cached MLflow store.

Two nights are run into one output folder, as in production: a previous night
(``--previous-days`` before the data's last day, default 7; its rows after that day are
quarantined like any future row), then the *measured* night at the last day, which compares
with it (what changed) and carries its score history (sparklines). Only the measured
night's stages are the result; each prints wall s, CPU s of this process, CPU s of its
forked children (the risk-list writers) and the peak RSS, and the load average before and
after is printed and recorded, so a reader can tell a quiet machine from a busy one.

Also prints how often the fast path reasons agree with exact TreeSHAP on a sample, under the
reason rule (the reasons *shown*). Run on demand (not in tests)::

    /usr/bin/time -v .venv/bin/python bench/bench_nightly.py --accounts 1000000 --skip-agreement
    .venv/bin/python bench/bench_nightly.py --accounts 200000 --skip-agreement --profile p.prof
"""

from __future__ import annotations

import argparse
import cProfile
import json
import os
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
from kam_ml.registry.bundle import (  # noqa: E402
    BundleTrust,
    ModelBundle,
    load_bundle,
    save_bundle,
)
from kam_ml.registry.champions import ScoringModels  # noqa: E402
from kam_ml.scoring.explained import band_means, top_reasons  # noqa: E402
from kam_ml.scoring.score import RiskBands  # noqa: E402

HERE = Path(__file__).resolve().parent
# the benchmark's own cache, written by this script: loaded without a signature or registry
OWN_CACHE = BundleTrust(allow_unverified=True)


def model_bundle(cache: Path) -> ModelBundle:
    """A churn bundle trained on 3,000 demo accounts (cached)."""
    folder = cache / "churn-model-3000"
    if (folder / "metadata.json").is_file():
        return load_bundle(folder, trust=OWN_CACHE)
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
    return load_bundle(folder, trust=OWN_CACHE)


def champion_models(cache: Path) -> ScoringModels:
    """Churn, offers and value champions trained on 3,000 demo accounts by the real
    pipelines into a cached MLflow store (what ``kam-ml train`` registers)."""
    from kam_ml.churn.job import train_and_register_churn
    from kam_ml.offers.job import train_and_register_offers
    from kam_ml.registry.champions import ChampionSource, load_champions
    from kam_ml.registry.tracking import TrackingStore
    from kam_ml.value.job import train_and_register_value

    # "-v2": versions registered since the gate records their digests (older ones do not load)
    folder = (cache / "champions-3000-v2").resolve()
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


def reason_agreement(bundle: ModelBundle, tables, as_of: pd.Timestamp, n: int = 20_000) -> dict:  # type: ignore[no-untyped-def]
    """Decision-path vs exact TreeSHAP on ``n`` sampled accounts: speed of each, and how
    often the reasons *shown* (the rule of ``top_reasons``: risky side of the low-risk
    peers, contribution raises risk, no context feature) agree. Peers are the whole book's
    band means, as in the nightly run."""
    features = build_features(tables, as_of, bundle.definition)
    X_all = features[bundle.feature_names]
    probability = bundle.model.predict_proba(X_all)[:, 1]
    bands = RiskBands().band(probability)
    peers = band_means(features, bands)
    sample = features.sample(min(n, len(features)), random_state=0).reset_index(drop=True)
    sample_bands = RiskBands().band(bundle.model.predict_proba(sample[bundle.feature_names])[:, 1])
    X = sample[bundle.feature_names]
    start = time.perf_counter()
    path = bundle.model.contributions(X)
    path_s = time.perf_counter() - start
    start = time.perf_counter()
    shap = bundle.model.contributions(X, method="treeshap")
    shap_s = time.perf_counter() - start
    start = time.perf_counter()
    by_path = top_reasons(path, sample, peers)
    rule_s = time.perf_counter() - start
    by_shap = top_reasons(shap, sample, peers)
    raw_top = lambda v: np.argsort(-v, axis=1, kind="stable")[:, :3]  # noqa: E731
    p_raw, s_raw = path.to_numpy(), shap.to_numpy()

    def agreement(rows: np.ndarray) -> dict[str, float]:
        pairs = [(by_path.features[i], by_shap.features[i]) for i in np.flatnonzero(rows)]
        both = [(a, b) for a, b in pairs if a and b]
        shown = [f for a, _ in pairs for f in a]
        shap_positive = [
            s_raw[i, bundle.feature_names.index(f)] > 0
            for i in np.flatnonzero(rows)
            for f in by_path.features[i]
        ]
        return {
            "accounts": int(rows.sum()),
            "top1_shown": float(np.mean([a[0] == b[0] for a, b in both])) if both else 1.0,
            "top3_shown_overlap": float(
                np.mean([len(set(a) & set(b)) / max(len(a), len(b)) for a, b in pairs if a or b])
            )
            if pairs
            else 1.0,
            "path_shown_treeshap_positive": float(np.mean(shap_positive)) if shown else 1.0,
            "path_reasons_per_account": len(shown) / max(len(pairs), 1),
            "treeshap_reasons_per_account": sum(len(b) for _, b in pairs) / max(len(pairs), 1),
        }

    everyone = np.ones(len(sample), dtype=bool)
    return {
        "rows": len(sample),
        "book_accounts": len(features),
        "share_above_low": float((bands != "low").mean()),
        "raw_top1_agreement": float((p_raw.argmax(1) == s_raw.argmax(1)).mean()),
        "raw_top3_overlap": float(
            np.mean(
                [
                    len(set(a) & set(b)) / 3
                    for a, b in zip(raw_top(p_raw), raw_top(s_raw), strict=True)
                ]
            )
        ),
        "shown_all": agreement(everyone),
        "shown_above_low": agreement(sample_bands != "low"),
        "path_rows_per_s": len(sample) / path_s,
        "treeshap_rows_per_s": len(sample) / shap_s,
        "reason_rule_rows_per_s": len(sample) / rule_s,
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--accounts", type=int, default=1_000_000)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--cache", type=Path, default=HERE / ".cache")
    parser.add_argument("--out", type=Path, default=None, help="nightly output (default: tmp)")
    parser.add_argument("--skip-agreement", action="store_true")
    parser.add_argument(
        "--agreement-rows", type=int, default=20_000, help="accounts sampled for TreeSHAP"
    )
    parser.add_argument(
        "--churn-only", action="store_true", help="score churn only (no offers/value models)"
    )
    parser.add_argument(
        "--previous-days",
        type=int,
        default=7,
        help="first run a previous night (not measured) this many days before the measured "
        "one (0: none; the measured night then compares with a night already in --out, if any)",
    )
    parser.add_argument(
        "--profile", type=Path, default=None, help="write cProfile stats of the measured night"
    )
    parser.add_argument(
        "--buckets", type=int, default=1, help="score the accounts in N buckets (kam-ml nightly)"
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
    last_day = tables.last_date()
    print(
        f"{args.accounts:,} accounts, {len(tables.orders):,} order lines "
        f"(loaded from cache in {prepared.load_s:.1f} s)",
        flush=True,
    )
    raw = raw_frames(tables)
    del tables, prepared

    def show(t: StageTiming) -> None:
        print(
            f"  {t.stage:<24} {t.seconds:7.1f} s   cpu {t.cpu_seconds:7.1f} s"
            f" + children {t.children_cpu_seconds:6.1f} s   peak {t.peak_rss_gib:5.2f} GiB",
            flush=True,
        )

    # default output under bench/.cache (this machine's /tmp creates files ~10x slower)
    args.cache.mkdir(parents=True, exist_ok=True)
    out = args.out or Path(tempfile.mkdtemp(prefix="nightly-out-", dir=args.cache))
    load_before = os.getloadavg()
    print(f"load average before: {_load(load_before)} ({os.cpu_count()} CPUs)", flush=True)
    if args.previous_days > 0:
        previous_day = last_day - pd.Timedelta(days=args.previous_days)
        print(f"previous night {previous_day.date()} (not measured):", flush=True)
        warmup = StageClock()
        start = time.perf_counter()
        run_nightly(raw, out, models, as_of=previous_day, clock=warmup, buckets=args.buckets)
        print(
            f"  {time.perf_counter() - start:.1f} s wall, "
            f"{sum(t.cpu_seconds for t in warmup.timings):.1f} s CPU",
            flush=True,
        )
    print(f"measured night {last_day.date()}:", flush=True)
    clock = StageClock(show)
    profiler = cProfile.Profile() if args.profile else None
    start = time.perf_counter()
    if profiler is not None:
        profiler.enable()
    result = run_nightly(raw, out, models, as_of=last_day, clock=clock, buckets=args.buckets)
    wall = time.perf_counter() - start
    if profiler is not None:
        profiler.disable()
        profiler.dump_stats(str(args.profile))
    load_after = os.getloadavg()
    manifest = json.loads((result.directory / SnapshotFiles.MANIFEST).read_text("utf-8"))
    compared = manifest.get("previous_night")
    cpu = sum(t.cpu_seconds for t in clock.timings)
    children = sum(t.children_cpu_seconds for t in clock.timings)
    print(
        f"nightly: {wall:.1f} s wall ({cpu:.1f} s CPU + {children:.1f} s in forked writers), "
        f"peak RSS {clock.peak_rss_gib:.2f} GiB, {result.accounts:,} accounts, "
        f"{result.managers:,} managers, compared with {compared or 'no earlier night'} "
        f"-> {result.directory}\n"
        f"load average after: {_load(load_after)}"
    )
    files = sum(1 for _ in (result.directory / SnapshotFiles.RISK_LISTS).iterdir())
    record = {
        "machine": {"platform": platform.platform(), "python": platform.python_version()},
        "accounts": args.accounts,
        "buckets": args.buckets,
        "order_lines": int(len(raw["orders"])),
        "scored_accounts": result.accounts,
        "models": result.model_versions,
        "managers": result.managers,
        "risk_list_files": files,
        "previous_days": args.previous_days,
        "compared_with": compared,
        "wall_s": wall,
        "cpu_s": cpu,
        "children_cpu_s": children,
        "load_average_before": load_before,
        "load_average_after": load_after,
        "peak_rss_gib": clock.peak_rss_gib,
        "stages": [t.__dict__ for t in clock.timings],
    }
    del raw
    if not args.skip_agreement:
        tables = cached_tables(args.accounts, args.seed, args.cache).tables
        record["reasons"] = reason_agreement(bundle, tables, result.as_of, args.agreement_rows)
        print("reasons vs TreeSHAP:", record["reasons"])
    results = HERE / "results"
    results.mkdir(exist_ok=True)
    path = results / f"nightly-{time.strftime('%Y%m%d-%H%M%S')}.json"
    path.write_text(json.dumps(record, indent=2), encoding="utf-8")
    print(f"results: {path}")
    if args.out is None:
        shutil.rmtree(out, ignore_errors=True)


def _load(average: tuple[float, float, float]) -> str:
    return " / ".join(f"{v:.2f}" for v in average) + " (1 / 5 / 15 min)"


if __name__ == "__main__":
    main()
