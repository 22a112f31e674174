"""The quarantine report: which rows broke which contract rule, and the rows themselves.

Kept apart from ``validation`` because the CLI, the nightly job and notebooks read and
write reports without validating anything.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path

import pandas as pd

from kam_ml.csv_cells import write_csv
from kam_ml.data.contract import CONTRACT

__all__ = ["QuarantineReport", "RuleViolation"]


@dataclass(frozen=True)
class RuleViolation:
    """How many rows of one table broke one rule, with a few example keys."""

    table: str
    column: str
    rule: str
    count: int
    examples: tuple[str, ...]
    action: str = "quarantined"

    def __str__(self) -> str:
        rows = "1 row breaks" if self.count == 1 else f"{self.count:,} rows break"
        key = CONTRACT[self.table].key
        examples = ", ".join(self.examples)
        line = f"{self.table}.{self.column} {self.rule}: {rows} it ({key} {examples})"
        return f"{line}." if self.action == "quarantined" else f"{line}; {self.action}."


@dataclass(frozen=True, eq=False)
class QuarantineReport:
    """Every broken row rule, and the quarantined raw rows per table (with ``row``, ``rule``).

    ``row`` counts a table's data rows from 1, as the messages do; ``rule`` names every
    rule the row broke. Repaired rows (see ``RowRule.repair``) are reported, not quarantined.
    """

    violations: tuple[RuleViolation, ...] = ()
    quarantined: Mapping[str, pd.DataFrame] = field(default_factory=dict)

    @property
    def is_clean(self) -> bool:
        return not self.violations

    def quarantined_rows(self, table: str) -> int:
        frame = self.quarantined.get(table)
        return 0 if frame is None else len(frame)

    def summary(self) -> pd.DataFrame:
        """One row per broken rule: table, column, rule, rows, examples, action."""
        columns = ["table", "column", "rule", "rows", "examples", "action"]
        records = [
            (v.table, v.column, v.rule, v.count, ", ".join(v.examples), v.action)
            for v in self.violations
        ]
        return pd.DataFrame.from_records(records, columns=columns)

    def __str__(self) -> str:
        if self.is_clean:
            return "The data follows every contract row rule; nothing was quarantined."
        lines = [str(v) for v in self.violations]
        counts = [f"{t} {len(f):,}" for t, f in self.quarantined.items() if len(f)]
        if counts:
            lines.append(f"Quarantined rows: {', '.join(counts)}.")
        return "\n".join(lines)

    def write(self, folder: Path) -> list[Path]:
        """Write ``quarantine_summary.csv`` and one ``<table>_quarantined.csv`` per table."""
        folder = Path(folder)
        folder.mkdir(parents=True, exist_ok=True)
        paths = [folder / "quarantine_summary.csv"]
        write_csv(self.summary(), paths[0], index=False)
        for table, frame in self.quarantined.items():
            if len(frame):
                paths.append(folder / f"{table}_quarantined.csv")
                write_csv(frame, paths[-1], index=False)
        return paths
