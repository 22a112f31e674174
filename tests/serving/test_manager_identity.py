"""The reliability probe's finding 8, night after night: a manager who joins with a name that
slugs like an existing manager's ("Aisha  Silva", or literally "aisha-silva") never takes
over that manager's URL or files, and names in other scripts keep distinct slugs.

Two real nights into one folder, then the real API over it.
"""

from __future__ import annotations

import json
import re

import httpx
import pandas as pd

from kam_ml.nightly.job import run_nightly
from kam_ml.nightly.managers import MANAGERS_FILE
from kam_ml.nightly.snapshot import SnapshotFiles
from kam_ml.registry.champions import ChampionSource
from tests.serving.conftest import API_KEY, running

OWNER = "Aisha Silva"
NEWCOMERS = ("Aisha  Silva", "aisha-silva")  # two spaces; the owner's slug as a name
SCRIPTS = ("张伟", "山田", "Иван")


def _book(book, managers: tuple[str, ...]) -> dict[str, pd.DataFrame]:  # type: ignore[no-untyped-def]
    """The demo book's raw tables, 20 accounts each given to ``managers`` in turn."""
    raw = {
        name: pd.read_parquet(book.data / f"{name}.parquet")
        for name in ("accounts", "orders", "interactions", "categories")
    }
    accounts = raw["accounts"]
    for i, manager in enumerate(managers):
        accounts.loc[accounts.index[20 * i : 20 * (i + 1)], "manager"] = manager
    return raw


def _slugs(night) -> dict[str, str]:  # type: ignore[no-untyped-def]
    manifest = json.loads((night / SnapshotFiles.MANIFEST).read_text(encoding="utf-8"))
    return {entry["manager"]: entry["slug"] for entry in manifest["risk_lists"]}


def test_a_newcomer_never_takes_over_a_managers_url_or_files(book, tmp_path):
    out = tmp_path / "nightly"
    source = ChampionSource(tracking_uri=book.tracking_uri, models_dir=book.models_dir)
    first = run_nightly(_book(book, (OWNER, *SCRIPTS)), out, source, as_of=book.first.as_of)
    before = _slugs(first.directory)
    assert before[OWNER] == "aisha-silva"
    # tonight two namesakes join; the non-Latin managers come in a different order
    tonight = (*NEWCOMERS, *reversed(SCRIPTS), OWNER)
    second = run_nightly(_book(book, tonight), out, source, as_of=book.second.as_of)
    after = _slugs(second.directory)
    assert {name: after[name] for name in before} == before  # nobody's slug moved
    assert len(set(after.values())) == len(after)
    assert len({after[name] for name in SCRIPTS}) == len(SCRIPTS)
    for name in NEWCOMERS:
        assert after[name] != "aisha-silva" and after[name].startswith("aisha-silva-")
    stored = json.loads((out / MANAGERS_FILE).read_text(encoding="utf-8"))["managers"]
    assert {name: stored[name] for name in after} == after

    with (
        running(book.settings(nightly_dir=out)) as url,
        httpx.Client(base_url=url, headers={"X-API-Key": API_KEY}, timeout=30) as client,
    ):
        assert _heading(client.get("/risk-lists/aisha-silva").text) == OWNER
        for name in (*NEWCOMERS, *SCRIPTS):
            assert _heading(client.get(f"/risk-lists/{after[name]}").text) == name
        index = client.get("/risk-lists").text
        for slug in after.values():  # every manager is linked by their own slug
            assert f'href="/risk-lists/{slug}"' in index
        # by slug only: the literal manager "aisha-silva" is reached by her own slug, and the
        # owner's slug opens the owner's list, never hers
        assert client.get("/risk-lists/Aisha%20Silva").status_code == 404
    # and her file holds her accounts, exactly
    owner_csv = pd.read_csv(second.directory / SnapshotFiles.risk_list("aisha-silva", ".csv"))
    explained = pd.read_parquet(second.directory / SnapshotFiles.EXPLAINED)
    own = explained.loc[explained["manager"] == OWNER, "account_id"]
    assert sorted(owner_csv["Account"].astype(str)) == sorted(own.astype(str))


def _heading(page: str) -> str:
    import html

    match = re.search(r"<h1>(.*?)</h1>", page, re.S)
    assert match is not None, page[:500]
    return html.unescape(re.sub(r"<[^>]+>", "", match.group(1))).strip()
