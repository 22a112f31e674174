"""File and URL names for managers: readable, safe on every OS, one per manager.

``manager_slugs`` is the only place a manager's name becomes a file name (the risk lists'
``<slug>.csv/.xlsx/.html``, the API's ``/risk-lists/<slug>``). A slug keeps the letters a
reader recognises ("Zoë O'Brien" -> ``zoe-obrien``, "D'Arcy & Co" -> ``darcy-and-co``):
accents are dropped by NFKD decomposition, a few letters that do not decompose are spelled
out (ß -> ss, ø -> o, ł -> l ...), apostrophes vanish and every other run of characters
becomes one hyphen. What is left is ``[a-z0-9-]``, so no path separator, no ``: * ? " < >
|``, no leading dot and no trailing space can reach the file system.

Names whose slugs would collide (``Zoe Obrien`` and ``Zoë O'Brien``), names cut to the
length cap, names with letters of other scripts (``"山田"``, ``"Иван Smith"``), and names
that are reserved on Windows (``con``, ``nul``, ``com1`` ...) or by the night folder
(``index``) get a suffix: the first hex digits of the SHA-256 of the full name. The suffix
depends on the name alone, not on the order managers are listed in, so the same book gives
the same files.

Across nights a slug must not move: ``stable_slugs`` keeps every slug already given out (the
nightly job stores them in ``OUT/managers.json``, ``kam_ml.nightly.managers``) and gives a
new manager a slug no earlier manager holds. So a manager who joins tonight as "Aisha  Silva"
(two spaces), or literally named "aisha-silva", never takes over Aisha Silva's URL and files:
the newcomer gets the suffixed slug.
"""

from __future__ import annotations

import hashlib
import re
import unicodedata
from collections import defaultdict
from collections.abc import Iterable, Mapping
from typing import Final

__all__ = ["SLUG_MAX_LENGTH", "manager_slugs", "stable_slugs"]

SLUG_MAX_LENGTH: Final = 80
"""The longest slug, suffix included (file names stay well under every OS's 255 bytes)."""
_BASE_MAX_LENGTH: Final = 64
_HASH_DIGITS: Final = 8
# letters NFKD leaves alone, spelled the way a reader would type them
_SPELLED = str.maketrans(
    {
        "ß": "ss",
        "ẞ": "ss",
        "æ": "ae",
        "Æ": "ae",
        "œ": "oe",
        "Œ": "oe",
        "ø": "o",
        "Ø": "o",
        "đ": "d",
        "Đ": "d",
        "ð": "d",
        "Ð": "d",
        "þ": "th",
        "Þ": "th",
        "ł": "l",
        "Ł": "l",
        "ı": "i",
        "&": " and ",
    }
)
_APOSTROPHES = re.compile(r"['\u2018\u2019\u02bc`´]")
_NOT_SLUG = re.compile(r"[^a-z0-9]+")
# Windows refuses these as file names whatever the extension; "index" is the index page
_RESERVED: Final = frozenset(
    {"con", "prn", "aux", "nul", "index"}
    | {f"com{i}" for i in range(10)}
    | {f"lpt{i}" for i in range(10)}
)


def manager_slugs(managers: Iterable[str]) -> dict[str, str]:
    """Per distinct manager name, its slug: ``[a-z0-9-]``, non-empty, at most
    ``SLUG_MAX_LENGTH`` characters, and never shared with another name of ``managers``."""
    names = sorted(set(managers))
    by_base: dict[str, list[str]] = defaultdict(list)
    exact: dict[str, bool] = {}
    for name in names:
        base, lossless = _base(name)
        by_base[base].append(name)
        exact[name] = lossless
    slugs: dict[str, str] = {}
    for base, group in by_base.items():
        plain = len(group) == 1 and exact[group[0]] and base not in _RESERVED
        for name in group:
            slugs[name] = base if plain else _suffixed(base, name, _HASH_DIGITS)
    # a suffixed slug can still equal another manager's plain slug (a manager literally
    # named "Zoe Obrien 1a2b3c4d"); lengthen the hash until no two names share one
    seen: dict[str, str] = {}
    for name in names:
        slug, digits = slugs[name], _HASH_DIGITS
        while slug in seen:
            digits += 4
            slug = _suffixed(_base(name)[0], name, digits)
        seen[slug] = name
        slugs[name] = slug
    return slugs


def stable_slugs(managers: Iterable[str], known: Mapping[str, str]) -> dict[str, str]:
    """``known`` (every name -> slug given out before) plus a slug for each new name of
    ``managers``: a known name keeps its slug; a new one gets what ``manager_slugs`` gives the
    new names, suffixed (the hash lengthened until free) where an earlier manager holds it.
    The result is never shared by two names and depends on ``known`` and the names alone."""
    slugs = dict(known)
    taken = set(slugs.values())
    fresh = manager_slugs(name for name in managers if name not in slugs)
    for name in sorted(fresh):
        slug, digits = fresh[name], _HASH_DIGITS
        while slug in taken:
            slug = _suffixed(_base(name)[0], name, digits)
            digits += 4
        taken.add(slug)
        slugs[name] = slug
    return slugs


def _base(name: str) -> tuple[str, bool]:
    """The readable part of a slug, and whether it was kept whole (not cut, not empty)."""
    text = unicodedata.normalize("NFKD", name.translate(_SPELLED))
    text = "".join(c for c in text if not unicodedata.combining(c))
    text = _APOSTROPHES.sub("", text.lower())
    # letters of other scripts are dropped: the name is then told apart by its suffix
    whole = not any(c.isalnum() for c in text if not c.isascii())
    base = _NOT_SLUG.sub("-", text.encode("ascii", "ignore").decode()).strip("-")
    if len(base) <= _BASE_MAX_LENGTH:
        return (base, whole) if base else ("manager", False)
    cut = base[:_BASE_MAX_LENGTH]
    # end on a whole word where one ends late enough, never on a hyphen
    cut = cut[: cut.rfind("-")] if cut.rfind("-") > _BASE_MAX_LENGTH // 2 else cut
    return cut.rstrip("-"), False


def _suffixed(base: str, name: str, digits: int) -> str:
    digest = hashlib.sha256(name.encode("utf-8", "surrogatepass")).hexdigest()[:digits]
    return f"{base[: SLUG_MAX_LENGTH - digits - 1].rstrip('-')}-{digest}"
