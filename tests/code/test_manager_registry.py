"""``OUT/managers.json``: slugs given out once, kept across nights, seeded for old folders,
and a damaged file refused rather than silently re-derived (which could move addresses)."""

from __future__ import annotations

import json

import pytest

from kam_ml.errors import KamMLError
from kam_ml.nightly.managers import MANAGERS_FILE, assign_slugs, known_slugs
from kam_ml.nightly.snapshot import SNAPSHOT_FORMAT, publish, staging_directory, write_manifest


def test_slugs_are_stored_and_kept_when_a_namesake_joins(tmp_path):
    assert assign_slugs(tmp_path, ["Aisha Silva"]) == {"Aisha Silva": "aisha-silva"}
    tonight = assign_slugs(tmp_path, ["Aisha  Silva", "Aisha Silva"])
    assert tonight["Aisha Silva"] == "aisha-silva"
    assert tonight["Aisha  Silva"].startswith("aisha-silva-")
    stored = json.loads((tmp_path / MANAGERS_FILE).read_text(encoding="utf-8"))
    assert stored["managers"] == tonight
    assert assign_slugs(tmp_path, []) == {}  # a night without them forgets nobody
    assert known_slugs(tmp_path) == tonight


def test_a_folder_from_before_the_file_keeps_its_latest_nights_slugs(tmp_path):
    staging = staging_directory(tmp_path, "2026-10-31")
    risk_lists = [{"manager": "Zoë O'Brien", "slug": "zoe-obrien-1a2b3c4d"}]
    write_manifest(
        staging, {"format": SNAPSHOT_FORMAT, "as_of": "2026-10-31", "risk_lists": risk_lists}
    )
    publish(staging, tmp_path, "2026-10-31")
    assert assign_slugs(tmp_path, ["Zoë O'Brien"]) == {"Zoë O'Brien": "zoe-obrien-1a2b3c4d"}


@pytest.mark.parametrize(
    "text", ["{not json", '{"format": 2, "managers": {}}', '{"format": 1, "managers": []}']
)
def test_a_damaged_file_is_refused_with_what_to_do(tmp_path, text):
    (tmp_path / MANAGERS_FILE).write_text(text, encoding="utf-8")
    with pytest.raises(KamMLError, match="cannot be read: .* Restore it from a backup"):
        assign_slugs(tmp_path, ["Aisha Silva"])


def test_a_file_giving_two_managers_one_slug_is_refused(tmp_path):
    managers = {"A": "a", "B": "a"}
    (tmp_path / MANAGERS_FILE).write_text(json.dumps({"format": 1, "managers": managers}))
    with pytest.raises(KamMLError, match="gives two managers the same slug"):
        known_slugs(tmp_path)
