"""Manager slugs for any unicode names: safe file names on every OS, readable where the name
allows, and never shared by two managers."""

from __future__ import annotations

import re

from hypothesis import given, settings
from hypothesis import strategies as st

from kam_ml.nightly.slugs import SLUG_MAX_LENGTH, manager_slugs, stable_slugs

SAFE = re.compile(r"^[a-z0-9](?:[a-z0-9-]*[a-z0-9])?$")
WINDOWS_RESERVED = {
    "con",
    "prn",
    "aux",
    "nul",
    *(f"{d}{i}" for d in ("com", "lpt") for i in "0123456789"),
}
# names that slug alike, so that collisions are actually drawn, plus any unicode at all
alike = st.sampled_from(["Zoë O'Brien", "Zoe OBrien", "zoe-obrien", "ZOË  O’BRIEN", "con", "Index"])
names = st.one_of(alike, st.text(max_size=300), st.text(alphabet="aé'& -.Zß", max_size=80))


@settings(max_examples=300, deadline=None)
@given(st.lists(names, max_size=12))
def test_slugs_are_safe_bounded_and_distinct(managers: list[str]) -> None:
    slugs = manager_slugs(managers)
    assert set(slugs) == set(managers)
    for slug in slugs.values():
        assert SAFE.match(slug), slug
        assert 0 < len(slug) <= SLUG_MAX_LENGTH
        assert slug not in WINDOWS_RESERVED and slug != "index"
    assert len(set(slugs.values())) == len(slugs)  # distinct names never share a file


@settings(max_examples=100, deadline=None)
@given(st.lists(names, max_size=8), st.randoms())
def test_a_slug_does_not_depend_on_the_order_managers_come_in(
    managers: list[str], random: object
) -> None:
    shuffled = list(managers)
    random.shuffle(shuffled)  # type: ignore[attr-defined]
    assert manager_slugs(shuffled) == manager_slugs(managers)


def test_accents_and_apostrophes_keep_their_letters() -> None:
    slugs = manager_slugs(["Zoë O'Brien", "José Müller-Lüdenscheidt", "D'Arcy & Co", "Søren Weiß"])
    assert slugs == {
        "Zoë O'Brien": "zoe-obrien",
        "José Müller-Lüdenscheidt": "jose-muller-ludenscheidt",
        "D'Arcy & Co": "darcy-and-co",
        "Søren Weiß": "soren-weiss",
    }


def test_names_that_collide_get_a_suffix_from_their_own_name() -> None:
    both = manager_slugs(["Zoë O'Brien", "Zoe OBrien"])
    assert both["Zoë O'Brien"] != both["Zoe OBrien"]
    assert all(re.fullmatch(r"zoe-obrien-[0-9a-f]{8}", s) for s in both.values())
    # the suffix is the name's: the same with a third namesake or in any order
    three = manager_slugs(["Zoe OBrien", "zoe obrien", "Zoë O'Brien"])
    assert {k: three[k] for k in both} == both


def test_a_long_name_is_cut_on_a_word_and_told_apart_by_its_suffix() -> None:
    name = ("Maximiliana Alexandrina " * 11)[:251]
    slug = manager_slugs([name])[name]
    assert len(slug) <= SLUG_MAX_LENGTH
    assert re.fullmatch(r"(maximiliana-alexandrina-)+maximiliana-[0-9a-f]{8}", slug)


def test_reserved_and_letterless_names_still_get_a_file() -> None:
    slugs = manager_slugs(["CON", "index", "???", "山田"])
    assert re.fullmatch(r"con-[0-9a-f]{8}", slugs["CON"])
    assert re.fullmatch(r"index-[0-9a-f]{8}", slugs["index"])
    assert all(re.fullmatch(r"manager-[0-9a-f]{8}", slugs[n]) for n in ("???", "山田"))


@settings(max_examples=200, deadline=None)
@given(st.lists(st.lists(names, max_size=6), min_size=1, max_size=5))
def test_a_slug_once_given_never_moves_and_is_never_given_again(nights: list[list[str]]) -> None:
    """Night after night, with managers joining and leaving: every slug handed out stays its
    manager's, and no newcomer ever receives a slug an earlier manager held."""
    known: dict[str, str] = {}
    for managers in nights:
        slugs = stable_slugs(managers, known)
        assert set(managers) <= set(slugs) and set(known) <= set(slugs)
        assert all(slugs[name] == slug for name, slug in known.items())
        assert len(set(slugs.values())) == len(slugs)
        for name in set(slugs) - set(known):
            assert SAFE.match(slugs[name]) and len(slugs[name]) <= SLUG_MAX_LENGTH
        known = slugs


def test_a_newcomer_spelling_a_known_slug_gets_a_suffix_of_its_own() -> None:
    known = stable_slugs(["Aisha Silva", "张伟"], {})
    assert known["Aisha Silva"] == "aisha-silva"
    tonight = stable_slugs(["Aisha Silva", "Aisha  Silva", "aisha-silva", "张伟", "山田"], known)
    assert tonight["Aisha Silva"] == "aisha-silva" and tonight["张伟"] == known["张伟"]
    assert tonight["Aisha  Silva"].startswith("aisha-silva-")
    assert tonight["aisha-silva"].startswith("aisha-silva-")
    assert tonight["山田"] != tonight["张伟"]
    assert tonight == stable_slugs(["山田", "aisha-silva", "Aisha  Silva"], tonight)
