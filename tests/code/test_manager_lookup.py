"""The risk-list pages find a manager by slug alone (what the pages link to), and a slug
finds exactly that manager even when it is also another manager's name."""

from __future__ import annotations

from types import SimpleNamespace

import pytest

from kam_ml.nightly.slugs import manager_slugs
from serving.errors import UnknownManager
from serving.routes.risk_lists import _slug as find_slug

NAMES = ["Zoë O'Brien", "Zoe OBrien", "D'Arcy & Co", "x" * 251]


def snapshot(names: list[str]) -> SimpleNamespace:
    slugs = manager_slugs(names)
    return SimpleNamespace(managers=[{"manager": n, "slug": slugs[n]} for n in names])


def test_every_slug_finds_its_own_manager_and_a_name_finds_none() -> None:
    night = snapshot(NAMES)
    for manager in night.managers:
        assert find_slug(night, manager["slug"]) == manager["slug"]  # type: ignore[arg-type]
        assert find_slug(night, f"{manager['slug']}.html") == manager["slug"]  # type: ignore[arg-type]
        if manager["manager"] != manager["slug"]:
            with pytest.raises(UnknownManager):
                find_slug(night, manager["manager"])  # type: ignore[arg-type]


def test_a_slug_wins_over_a_name_that_spells_it() -> None:
    zoe = manager_slugs(NAMES[:2])["Zoë O'Brien"]  # zoe-obrien-<hash>: namesakes
    night = snapshot([*NAMES[:2], zoe])  # a third manager literally named like that slug
    slugs = {m["manager"]: m["slug"] for m in night.managers}
    assert len(set(slugs.values())) == 3 and slugs["Zoë O'Brien"] == zoe
    assert find_slug(night, zoe) == zoe  # type: ignore[arg-type]  # Zoë's list, by her slug
    assert find_slug(night, slugs[zoe]) == slugs[zoe]  # type: ignore[arg-type]


def test_an_unknown_manager_is_named() -> None:
    with pytest.raises(UnknownManager, match="unknown manager: nobody"):
        find_slug(snapshot(NAMES), "nobody")  # type: ignore[arg-type]
