"""Books no one here wrote: odd but contract-valid books through the real CLI.

Each book is built from one of the two generators and then bent the way a new user's
export might be (README "Books no one here wrote"): a short history, only the contract's
required tables and columns, empty optional tables, nearly every account a one-time
buyer, one manager or hundreds, account ids that look like numbers or are long or not
ASCII, a long-tailed catalogue of 150 categories, 30 accounts, almost no churn or almost
all churn. Every book runs ``kam-ml validate``, ``train``, ``score`` and ``nightly`` as
subprocesses, each book in its own temporary folder with its own SQLite MLflow store and
``KAM_MODELS_DIR``, and the run is judged by what a user sees:

* a traceback, or an exit code other than 0 (or 1 with an ``error:`` line), fails;
* ``scores.parquet``: probabilities in [0, 1], no NaN or infinite number anywhere, offers
  from the catalogue, no offer repeated for an account;
* the risk lists (CSV): no ``nan``/``inf`` cell, and every reason's first number is the
  value its details record (what the manager reads is what the model saw).

Usage::

    .venv/bin/python bench/bench_unseen_books.py                # every book
    .venv/bin/python bench/bench_unseen_books.py --books tiny one_manager --keep /tmp/books
"""

from __future__ import annotations

import argparse
import json
import os
import re
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pandas as pd

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
from kam_ml.demo.btyd_book import BookShape, generate_btyd_book  # noqa: E402
from kam_ml.demo.generate import generate_demo_data  # noqa: E402

Frames = dict[str, pd.DataFrame]
ACCOUNTS = 400
OPTIONAL_ORDER_COLUMNS = ("product_id", "returned", "return_date")


def _demo(accounts: int = ACCOUNTS, seed: int = 1, years: float = 3.0) -> Frames:
    return generate_demo_data(n_accounts=accounts, seed=seed, years=years).raw_tables()


def _btyd(accounts: int = ACCOUNTS, seed: int = 1, **shape: object) -> Frames:
    book = generate_btyd_book(n_accounts=accounts, seed=seed, shape=BookShape(**shape))  # type: ignore[arg-type]
    return book.raw_tables()


def _stress() -> Frames:
    return generate_btyd_book(n_accounts=ACCOUNTS, seed=1, shape=BookShape.stress()).raw_tables()


def _months(months: int) -> Callable[[], Frames]:
    return lambda: _demo(years=months / 12)


def _required_only() -> Frames:
    """No interactions, no catalogue, no segment, no product_id / returned / return_date."""
    frames = _demo()
    return {
        "accounts": frames["accounts"].drop(columns=["segment"]),
        "orders": frames["orders"].drop(columns=list(OPTIONAL_ORDER_COLUMNS)),
    }


def _empty_optional() -> Frames:
    frames = _demo()
    return frames | {
        "interactions": frames["interactions"].iloc[:0],
        "categories": frames["categories"].iloc[:0],
    }


def _one_time_buyers() -> Frames:
    """Every account's first order only, except 20 accounts that keep their history."""
    frames = _demo()
    orders = frames["orders"]
    first = orders.groupby("account_id")["order_date"].transform("min")
    keep = orders["account_id"].isin(frames["accounts"]["account_id"].iloc[:20])
    return frames | {"orders": orders.loc[keep | (orders["order_date"] == first)]}


def _managers(count: int) -> Callable[[], Frames]:
    def build() -> Frames:
        frames = _demo()
        accounts = frames["accounts"].copy()
        names = np.array([f"Manager {i:03d}" for i in range(count)], dtype=object)
        accounts["manager"] = names[np.arange(len(accounts)) % count]
        return frames | {"accounts": accounts}

    return build


def _renamed_ids(rename: Callable[[int], str]) -> Callable[[], Frames]:
    def build() -> Frames:
        frames = _demo()
        ids = frames["accounts"]["account_id"]
        mapping = {old: rename(i) for i, old in enumerate(ids)}
        return {
            name: frame.assign(account_id=frame["account_id"].map(mapping))
            if "account_id" in frame
            else frame
            for name, frame in frames.items()
        }

    return build


def _numeric_id(i: int) -> str:
    # leading zeros, a float look-alike and a plain integer: what a spreadsheet mangles
    return (f"{i:07d}", f"{i}.0", f"{i + 1000}")[i % 3]


def _long_id(i: int) -> str:
    return f"{'customer-account-' * 12}{i:05d}"


def _unicode_id(i: int) -> str:
    return ("Société Générale №", "Zürich Straße ", "株式会社 東京 ", "Ωmega — ")[i % 4] + str(i)


def _long_tail_catalogue() -> Frames:
    """150 categories, line counts Zipf-like: a few big ones and a long tail of rare ones."""
    frames = _demo()
    orders = frames["orders"].copy()
    rng = np.random.default_rng(1)
    weights = 1.0 / np.arange(1, 151) ** 1.1
    names = np.array([f"cat_{i:03d}" for i in range(150)], dtype=object)
    orders["category"] = rng.choice(names, len(orders), p=weights / weights.sum())
    categories = pd.DataFrame({"category": names, "margin_rate": rng.uniform(0.2, 0.7, 150)})
    return frames | {"orders": orders, "categories": categories}


BOOKS: dict[str, Callable[[], Frames]] = {
    "btyd_stress": _stress,
    "months_6": _months(6),
    "months_9": _months(9),
    "months_12": _months(12),
    "required_only": _required_only,
    "empty_optional": _empty_optional,
    "one_time_buyers": _one_time_buyers,
    "one_manager": _managers(1),
    "managers_400": _managers(400),
    "numeric_ids": _renamed_ids(_numeric_id),
    "long_ids": _renamed_ids(_long_id),
    "unicode_ids": _renamed_ids(_unicode_id),
    "categories_150": _long_tail_catalogue,
    "tiny_30": lambda: _demo(accounts=30),
    "almost_no_churn": lambda: _btyd(dropout_a=1.0, dropout_b=400.0, rate_mean_days=10.0),
    "almost_all_churn": lambda: _btyd(dropout_a=20.0, dropout_b=1.0, rate_mean_days=200.0),
}


@dataclass
class Outcome:
    book: str
    steps: dict[str, str] = field(default_factory=dict)  # step -> "0 (12 s)" / "1: message"
    problems: list[str] = field(default_factory=list)


def _write(frames: Frames, folder: Path) -> None:
    folder.mkdir(parents=True)
    for name, frame in frames.items():
        frame.to_parquet(folder / f"{name}.parquet", index=False)


def _run(cwd: Path, *args: str) -> tuple[int, str, float]:
    env = os.environ | {
        "MLFLOW_TRACKING_URI": f"sqlite:///{cwd / 'mlflow.db'}",
        "KAM_MODELS_DIR": str(cwd / "models"),
        "COLUMNS": "200",
    }
    started = time.perf_counter()
    done = subprocess.run(
        [sys.executable, "-m", "kam_ml", *args],
        cwd=cwd,
        env=env,
        capture_output=True,
        text=True,
        timeout=1800,
    )
    return done.returncode, done.stdout + done.stderr, time.perf_counter() - started


def _error_line(output: str) -> str:
    lines = [line for line in output.splitlines() if "error" in line.lower()]
    return " ".join((lines[0] if lines else output[-300:]).split())[:300]


def run_book(name: str, root: Path) -> Outcome:
    outcome = Outcome(name)
    cwd = root / name
    _write(BOOKS[name](), cwd / "data")
    steps = {
        "validate": ("validate", "--data", "data"),
        "train": ("train", "--data", "data"),
        "score": ("score", "--data", "data", "--out", "scores.parquet"),
        "nightly": ("nightly", "--data", "data", "--out", "nightly"),
    }
    for step, args in steps.items():
        code, output, seconds = _run(cwd, *args)
        (cwd / f"{step}.log").write_text(output)
        if "Traceback" in output:
            outcome.problems.append(f"{step}: traceback ({_error_line(output)})")
        if code == 0:
            outcome.steps[step] = f"0 ({seconds:.0f} s)"
            continue
        outcome.steps[step] = f"{code}: {_error_line(output)}"
        if code != 1 or "error" not in output.lower():
            outcome.problems.append(f"{step}: exit {code} without an error line")
        break
    if (cwd / "scores.parquet").exists():
        outcome.problems += check_scores(pd.read_parquet(cwd / "scores.parquet"), cwd / "data")
    for csv in sorted((cwd / "nightly").glob("*/risk_lists/*.csv")):
        outcome.problems += [f"{csv.name}: {p}" for p in check_risk_list(pd.read_csv(csv))]
    return outcome


def check_scores(scores: pd.DataFrame, data: Path) -> list[str]:
    """What a user of ``scores.parquet`` would call garbage."""
    problems = []
    numbers = scores.select_dtypes("number")
    if scores["value_model_version"].isna().all():  # no value model: not computed, not NaN
        numbers = numbers.drop(columns=["expected_value_12m", "revenue_at_risk"])
    bad = numbers.columns[~np.isfinite(numbers.to_numpy(dtype=float)).all(axis=0)]
    problems += [f"scores: {column} has NaN/inf" for column in bad]
    if not scores["churn_probability"].between(0, 1).all():
        problems.append("scores: churn_probability outside [0, 1]")
    if "offers" in scores:
        catalogue_file = data / "categories.parquet"
        orders = pd.read_parquet(data / "orders.parquet")
        known = set(orders["category"].astype(str))
        if catalogue_file.exists():
            known |= set(pd.read_parquet(catalogue_file)["category"].astype(str))
        offers = scores["offers"].dropna()
        if any(set(map(str, o)) - known for o in offers):
            problems.append("scores: an offer outside the catalogue")
        if any(len(set(o)) != len(o) for o in offers):
            problems.append("scores: an offer repeated for one account")
        for column in ("offer_scores",):
            flat = [v for o in scores[column].dropna() for v in o]
            if flat and not np.all(np.isfinite(flat)):
                problems.append(f"scores: {column} has NaN/inf")
    return problems


# a count or a number of days the phrase states as the feature's value: "3 complaints this
# year", "No order for 129 days", "Complained 13 days ago" (percentages and trends are
# formatted from ratios, so they are not compared)
_NUMBER = re.compile(r"^(-?\d[\d,]*(?:\.\d+)?) (?!%)|for (\d[\d,]*) days|(\d[\d,]*) days ago")


def check_risk_list(rows: pd.DataFrame) -> list[str]:
    """No NaN/inf cells; each reason's first number is the value its details record."""
    problems = []
    text = rows.astype(str)
    for column in text.columns:
        cells = text[column].str.contains(r"\b(?:nan|NaN|inf|None)\b", regex=True)
        if column not in ("Last action", "Last action date", "Compared with") and cells.any():
            problems.append(f"'{column}' has nan/inf cells, e.g. {text[column][cells].iloc[0]!r}")
    for details in rows.get("Reason details (JSON)", pd.Series(dtype=str)).dropna():
        for reason in json.loads(details):
            # a parenthesis holds other features' numbers ("ordered 9 days ago, usually every 10")
            found = None if "(" in reason["text"] else _NUMBER.search(reason["text"])
            if found is None:
                continue
            shown = float(next(g for g in found.groups() if g).replace(",", ""))
            value = abs(float(reason["value"]))
            if not np.isclose(shown, value, rtol=0.01, atol=0.51):
                problems.append(f"reason {reason['text']!r} but {reason['feature']} = {value}")
    return problems


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--books", nargs="*", default=list(BOOKS), choices=list(BOOKS))
    parser.add_argument("--keep", type=Path, default=None, help="keep the books' folders here")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="unseen-books-") as temporary:
        root = args.keep or Path(temporary)
        for name in args.books:
            outcome = run_book(name, root)
            steps = "; ".join(f"{step} {result}" for step, result in outcome.steps.items())
            problems = list(dict.fromkeys(outcome.problems))  # the same problem once
            shown = " | ".join(problems[:5])
            verdict = f"{len(problems)} PROBLEMS: {shown}" if problems else "held"
            print(f"{name}: {steps} -> {verdict}", flush=True)


if __name__ == "__main__":
    main()
