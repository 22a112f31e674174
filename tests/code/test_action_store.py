"""The actions store: round trip, newest first, last action per account, the rules, two
writers at once, and which URLs open which store."""

from __future__ import annotations

import datetime as dt
import threading
from pathlib import Path

import pytest

from kam_ml.actions import (
    ActionKind,
    ActionStore,
    NewAction,
    SQLiteActionStore,
    default_actions_url,
    describe_action,
    open_action_store,
)
from kam_ml.errors import ActionStoreError, InvalidActionError

T0 = dt.datetime(2026, 11, 2, 9, 30, tzinfo=dt.UTC)


@pytest.fixture
def store(tmp_path: Path) -> SQLiteActionStore:
    return SQLiteActionStore(tmp_path / "actions.db")


def test_an_action_round_trips_with_every_field_and_a_utc_time(store):
    paris = dt.timezone(dt.timedelta(hours=1))
    note = 'Said "maybe" — <b>call</b> back; DROP TABLE account_actions; --  ☎'
    new = NewAction("A1", ActionKind.offered, "Ava", category="handbags", note=note, manager="Ava")
    recorded = store.record(new, at=dt.datetime(2026, 11, 2, 10, 30, tzinfo=paris))
    assert recorded.recorded_at == T0 and recorded.recorded_at.utcoffset() == dt.timedelta(0)
    (read,) = store.history("A1")
    assert read == recorded
    assert (read.account_id, read.action, read.category, read.note, read.manager) == (
        "A1",
        ActionKind.offered,
        "handbags",
        note,
        "Ava",
    )
    assert describe_action(read) == f"Offered handbags: {note}"


def test_history_is_newest_first_and_only_the_accounts(store):
    for minutes, kind in [(0, ActionKind.called), (30, ActionKind.met), (10, ActionKind.lost)]:
        store.record(NewAction("A1", kind, "x"), at=T0 + dt.timedelta(minutes=minutes))
    store.record(NewAction("A2", ActionKind.won_back, "x"), at=T0)
    assert [a.action for a in store.history("A1")] == ["met", "lost", "called"]
    assert [a.action for a in store.history("A1", limit=1)] == ["met"]
    assert store.history("nobody") == []


def test_same_time_means_the_later_recorded_is_newer(store):
    first = store.record(NewAction("A1", ActionKind.called, "x"), at=T0)
    second = store.record(NewAction("A1", ActionKind.met, "x"), at=T0)
    assert second.id > first.id
    assert store.history("A1") == [second, first]
    assert store.last_actions()["A1"] == second


def test_last_actions_gives_each_accounts_newest(store):
    store.record(NewAction("A1", ActionKind.called, "x"), at=T0)
    newest = store.record(NewAction("A1", ActionKind.met, "x"), at=T0 + dt.timedelta(days=1))
    other = store.record(NewAction("A2", ActionKind.lost, "x"), at=T0)
    assert store.last_actions() == {"A1": newest, "A2": other}
    assert store.last_actions(["A2", "A3"]) == {"A2": other}
    many = [f"B{i}" for i in range(1200)] + ["A1"]  # more than one IN (...) chunk
    assert store.last_actions(many) == {"A1": newest}
    assert store.last_actions([]) == {}


@pytest.mark.parametrize(
    ("new", "field", "message"),
    [
        (
            NewAction("A1", ActionKind.offered, "x"),
            "category",
            "An 'offered' action needs the category offered. Got none.",
        ),
        (
            NewAction("A1", ActionKind.called, "x", note="n" * 2001),
            "note",
            "The 'note' of an action must be at most 2000 characters. Got 2001 instead.",
        ),
        (NewAction("", ActionKind.called, "x"), "account_id", "The account_id of an action"),
        (
            NewAction("A1", ActionKind.called, "x", note="line\x0bbreak"),
            "note",
            r"must not contain control characters. Got '\\x0b' at position 4.",
        ),
    ],
)
def test_a_broken_rule_names_the_field_and_stores_nothing(store, new, field, message):
    with pytest.raises(InvalidActionError, match=message) as caught:
        store.record(new)
    assert caught.value.field == field
    assert store.last_actions() == {}


def test_a_time_without_a_zone_is_refused(store):
    with pytest.raises(InvalidActionError, match="must carry a time zone") as caught:
        store.record(NewAction("A1", ActionKind.called, "x"), at=dt.datetime(2026, 11, 2))
    assert caught.value.field == "recorded_at"


def test_two_writers_at_once_lose_nothing(tmp_path):
    """Two stores on one file (as the API and a second worker would be), four threads each,
    all writing at the same moment: every action is stored, once."""
    path = tmp_path / "actions.db"
    stores = [SQLiteActionStore(path), SQLiteActionStore(path)]
    start = threading.Barrier(8)
    failures: list[BaseException] = []

    def write(worker: int) -> None:
        store = stores[worker % 2]
        start.wait()
        try:
            for i in range(25):
                store.record(NewAction(f"A{i % 5}", ActionKind.called, f"w{worker}", note=str(i)))
        except BaseException as error:  # reported below, with the worker
            failures.append(error)

    threads = [threading.Thread(target=write, args=(w,)) for w in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert failures == []
    everything = [a for i in range(5) for a in stores[0].history(f"A{i}")]
    assert len(everything) == 200 and len({a.id for a in everything}) == 200
    assert {(a.recorded_by, a.note) for a in everything} == {
        (f"w{w}", str(i)) for w in range(8) for i in range(25)
    }
    (mode,) = _pragma(path, "journal_mode")
    assert mode == "wal"


def _pragma(path: Path, name: str) -> tuple[object, ...]:
    import sqlite3

    with sqlite3.connect(path) as connection:
        return tuple(connection.execute(f"PRAGMA {name}").fetchone())


def test_the_default_store_is_a_file_in_the_nightly_folder_created_on_first_use(tmp_path):
    url = default_actions_url(tmp_path / "nightly")
    assert url == f"sqlite:///{(tmp_path / 'nightly').resolve()}/actions.db"
    store = open_action_store(url)
    assert isinstance(store, ActionStore) and store.url == url
    assert not (tmp_path / "nightly").exists()  # opening touches no disk
    store.record(NewAction("A1", ActionKind.met, "x"))
    assert (tmp_path / "nightly" / "actions.db").is_file()


def test_a_relative_sqlite_url_is_relative(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    store = open_action_store("sqlite:///data/actions.db")
    assert isinstance(store, SQLiteActionStore) and store.path == Path("data/actions.db")


@pytest.mark.parametrize(
    ("url", "message"),
    [
        ("postgresql://kam@db/kam", "a PostgreSQL actions store is not implemented yet"),
        ("sqlite:///:memory:", "is not a store kam-ml knows: use sqlite:///PATH"),
        ("actions.db", "is not a store kam-ml knows"),
    ],
)
def test_an_unknown_url_says_which_urls_work(url, message):
    with pytest.raises(ActionStoreError, match=message):
        open_action_store(url)


def test_an_unwritable_location_is_an_action_store_error(tmp_path):
    blocker = tmp_path / "file"
    blocker.write_text("not a folder")
    with pytest.raises(ActionStoreError, match="Cannot open the actions store"):
        SQLiteActionStore(blocker / "actions.db").history("A1")
