"""``OUT/managers.json``: every manager's slug, given out once and kept from night to night.

A manager's risk-list URL (``/risk-lists/<slug>``) and files (``risk_lists/<slug>.*``) are
bookmarked, mailed and linked from the CRM, so the slug is an identity, not a spelling of
tonight's name list: derived once (``kam_ml.nightly.slugs.stable_slugs``), stored here, read
back by every later night. A manager who leaves keeps their entry, so nobody inherits their
URL either.

The file sits at the output folder's root, beside the nights, and is written by the nightly
job alone while it holds the folder's lock (temp file + rename: never half written). An
output folder from before the file gets one seeded from the latest night's manifest, so the
URLs managers already have stay theirs.
"""

from __future__ import annotations

import json
import os
from collections.abc import Iterable, Mapping
from pathlib import Path
from typing import Final

from kam_ml.errors import KamMLError
from kam_ml.nightly.slugs import stable_slugs
from kam_ml.nightly.snapshot import latest_night, read_snapshot

__all__ = ["MANAGERS_FILE", "assign_slugs", "known_slugs"]

MANAGERS_FILE: Final = "managers.json"
_FORMAT: Final = 1


def known_slugs(out_dir: Path) -> dict[str, str]:
    """The slugs given out in ``out_dir`` so far (name -> slug)."""
    path = Path(out_dir) / MANAGERS_FILE
    if not path.exists():
        return _seeded(Path(out_dir))
    try:
        stored = json.loads(path.read_text(encoding="utf-8"))
        managers = stored["managers"]
        if stored.get("format") != _FORMAT or not isinstance(managers, dict):
            raise ValueError(f"format {stored.get('format')!r}")
        slugs = {str(name): str(slug) for name, slug in managers.items()}
    except (OSError, ValueError, KeyError, TypeError, AttributeError) as error:
        raise KamMLError(
            f"{path} (every manager's risk-list address) cannot be read: {error}. Restore it "
            "from a backup; deleting it gives each manager the address of the latest night."
        ) from None
    if len(set(slugs.values())) != len(slugs):
        raise KamMLError(f"{path} gives two managers the same slug; restore it from a backup.")
    return slugs


def assign_slugs(out_dir: Path, managers: Iterable[str]) -> dict[str, str]:
    """Every manager's slug, the new ones added to ``OUT/managers.json`` (written before
    the night is published: an address given out is kept even if the night then fails)."""
    known = known_slugs(out_dir)
    names = set(managers)
    slugs = stable_slugs(names, known)
    if slugs != known:
        _write(Path(out_dir), slugs)
    return {name: slugs[name] for name in names}


def _seeded(out_dir: Path) -> dict[str, str]:
    """The latest night's slugs, for an output folder written before ``managers.json``."""
    night = latest_night(out_dir)
    if night is None:
        return {}
    seeded: dict[str, str] = {}
    for entry in read_snapshot(night).manifest.get("risk_lists", []):
        if entry["slug"] not in seeded.values():
            seeded[str(entry["manager"])] = str(entry["slug"])
    return seeded


def _write(out_dir: Path, slugs: Mapping[str, str]) -> None:
    payload = {"format": _FORMAT, "managers": dict(sorted(slugs.items()))}
    tmp = out_dir / f".{MANAGERS_FILE}.tmp-{os.getpid()}"
    tmp.write_text(json.dumps(payload, indent=2) + "\n", encoding="utf-8")
    tmp.replace(out_dir / MANAGERS_FILE)
