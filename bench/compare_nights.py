"""Compare two nightly output folders written by two versions of the code: a performance
change must leave every output as it was.

Every Parquet file is compared as a frame (``pandas.testing.assert_frame_equal``, exact),
every other file byte for byte (the CSV, HTML and Excel lists, the portfolio, the
manifest); ``.timings/`` (which varies by run) is skipped. Typical use, a 20k-account
two-night run before and after a change::

    .venv/bin/python bench/bench_nightly.py --accounts 20000 --skip-agreement --out /tmp/before
    # ... change the code ...
    .venv/bin/python bench/bench_nightly.py --accounts 20000 --skip-agreement --out /tmp/after
    .venv/bin/python bench/compare_nights.py /tmp/before /tmp/after

Exits 1 and lists the differing files when anything differs.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

import pandas as pd


def differences(before: Path, after: Path) -> list[str]:
    """What differs between the two folders, one line per file ([] when identical)."""

    def files(root: Path) -> set[Path]:
        return {
            p.relative_to(root)
            for p in root.rglob("*")
            if p.is_file() and ".timings" not in p.relative_to(root).parts
        }

    a, b = files(before), files(after)
    out = [f"only in {before}: {p}" for p in sorted(a - b)]
    out += [f"only in {after}: {p}" for p in sorted(b - a)]
    for path in sorted(a & b):
        if path.suffix == ".parquet":
            try:
                pd.testing.assert_frame_equal(
                    pd.read_parquet(before / path), pd.read_parquet(after / path), check_exact=True
                )
            except AssertionError as error:
                out.append(f"{path}: {str(error).splitlines()[0]}")
        elif (before / path).read_bytes() != (after / path).read_bytes():
            out.append(f"{path}: bytes differ")
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("before", type=Path)
    parser.add_argument("after", type=Path)
    args = parser.parse_args()
    found = differences(args.before, args.after)
    for line in found:
        print(line)
    compared = sum(1 for p in args.before.rglob("*") if p.is_file())
    print("identical" if not found else f"{len(found)} difference(s)", f"({compared} files)")
    sys.exit(1 if found else 0)


if __name__ == "__main__":
    main()
