"""The actions store: round trip, newest first, last action per account, the rules, one
action per idempotency key, two writers at once, and which URLs open which store.

Every test taking ``store`` runs against both implementations: a SQLite file and a
database of its own on the session's throwaway PostgreSQL server."""

from __future__ import annotations

import datetime as dt
import itertools
import threading
from pathlib import Path

import psycopg
import pytest

from kam_ml.actions import (
    ActionKind,
    ActionStore,
    NewAction,
    RecordedAction,
    SQLiteActionStore,
    default_actions_url,
    describe_action,
    open_action_store,
)
from kam_ml.actions.postgres import PostgresActionStore
from kam_ml.errors import ActionKeyReusedError, ActionStoreError, InvalidActionError

T0 = dt.datetime(2026, 11, 2, 9, 30, tzinfo=dt.UTC)
_DATABASES = itertools.count()


@pytest.fixture(scope="module")
def postgres_actions(postgres) -> str:
    return postgres.create_database("actions_contract")


@pytest.fixture(params=["sqlite", "postgresql"])
def store_url(request, tmp_path: Path) -> str:
    """A new, empty store's URL: a SQLite file, or the module's PostgreSQL database with
    its tables dropped (faster than a new database; the store creates them again)."""
    if request.param == "sqlite":
        return f"sqlite:///{tmp_path / 'actions.db'}"
    url: str = request.getfixturevalue("postgres_actions")
    with psycopg.connect(url, autocommit=True) as connection:
        connection.execute("DROP TABLE IF EXISTS account_actions, kam_schema_migrations")
    return url


@pytest.fixture
def store(store_url: str) -> ActionStore:
    return open_action_store(store_url)


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


def test_two_writers_at_once_lose_nothing(store_url):
    """Two stores on one database (as the API and a second worker would be), four threads
    each, all writing at the same moment: every action is stored, once."""
    stores = [open_action_store(store_url), open_action_store(store_url)]
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
    if isinstance(stores[0], SQLiteActionStore):
        (mode,) = _pragma(stores[0].path, "journal_mode")
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
        ("sqlite:///:memory:", "is not a store kam-ml knows: use sqlite:///PATH"),
        ("actions.db", "is not a store kam-ml knows"),
        ("postgresql://", "or postgresql://USER:PASSWORD@HOST:PORT/DATABASE"),
        ("mysql://kam:s3cret@db/kam", r"'mysql://kam:\*\*\*@db/kam' is not a store"),
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


@pytest.mark.parametrize("scheme", ["postgresql", "postgresql+psycopg", "postgres"])
def test_a_postgresql_url_opens_a_postgresql_store_and_touches_nothing(scheme):
    store = open_action_store(f"{scheme}://kam:s3cret@db.invalid/kam")
    assert isinstance(store, PostgresActionStore) and isinstance(store, ActionStore)
    assert store.url == f"{scheme}://kam:s3cret@db.invalid/kam"
    assert "s3cret" not in repr(store) and "kam:***@db.invalid" in repr(store)


def test_an_unreachable_postgresql_store_is_an_action_store_error_without_the_password():
    store = open_action_store("postgresql+psycopg://kam:s3cret@127.0.0.1:1/kam")
    with pytest.raises(ActionStoreError, match="Cannot open the actions store") as caught:
        store.history("A1")
    assert "s3cret" not in str(caught.value) and "kam:***@127.0.0.1:1" in str(caught.value)


def _keyed(key: str | None, note: str = "n", account: str = "A1") -> NewAction:
    return NewAction(account, ActionKind.called, "Ava", note=note, idempotency_key=key)


def test_the_same_key_twice_stores_one_action_and_answers_it_again(store):
    first = store.record(_keyed("k-1"), at=T0)
    again = store.record(_keyed("k-1"), at=T0 + dt.timedelta(hours=1))
    assert (first.replayed, again.replayed) == (False, True)
    assert again == first and again.recorded_at == T0 and again.idempotency_key == "k-1"
    assert store.history("A1") == [first]
    other = store.record(_keyed("k-2"), at=T0)
    assert other.id != first.id and len(store.history("A1")) == 2


def test_actions_without_a_key_are_each_stored(store):
    one, two = store.record(_keyed(None), at=T0), store.record(_keyed(None), at=T0)
    assert one.id != two.id and store.history("A1") == [two, one]
    assert one.idempotency_key is None and not two.replayed


@pytest.mark.parametrize(
    "different",
    [
        _keyed("k-1", note="another note"),
        _keyed("k-1", account="A2"),
        NewAction("A1", ActionKind.met, "Ava", note="n", idempotency_key="k-1"),
        NewAction("A1", ActionKind.called, "Ben", note="n", idempotency_key="k-1"),
    ],
)
def test_a_key_reused_for_a_different_action_is_refused_and_stores_nothing(store, different):
    first = store.record(_keyed("k-1"), at=T0)
    with pytest.raises(ActionKeyReusedError, match="'k-1' was used for action") as caught:
        store.record(different)
    assert caught.value.existing_id == first.id and caught.value.key == "k-1"
    assert store.last_actions() == {"A1": first}


@pytest.mark.parametrize(
    ("key", "message"),
    [
        ("", "The idempotency_key of an action is empty"),
        ("k" * 256, "must be at most 255 characters. Got 256 instead."),
        ("k\n1", "must not contain control characters"),
    ],
)
def test_a_broken_key_names_the_field(store, key, message):
    with pytest.raises(InvalidActionError, match=message) as caught:
        store.record(_keyed(key))
    assert caught.value.field == "idempotency_key"


def test_a_key_of_255_characters_of_any_script_is_kept_whole(store):
    key = "clé-☎-" + "x" * 249
    assert store.record(_keyed(key)).idempotency_key == key
    assert store.record(_keyed(key)).replayed and len(store.history("A1")) == 1


def test_times_round_trip_to_the_microsecond_in_utc(store):
    at = dt.datetime(2026, 11, 2, 23, 59, 59, 999_999, tzinfo=dt.timezone(dt.timedelta(hours=-5)))
    recorded = store.record(_keyed(None), at=at)
    (read,) = store.history("A1")
    assert read.recorded_at == at and read.recorded_at.tzinfo == dt.UTC and read == recorded


def test_a_postgresql_store_carries_on_after_the_server_restarts(postgres):
    store = open_action_store(postgres.create_database(f"actions_{next(_DATABASES)}"))
    before = store.record(_keyed("k-1"))
    postgres.restart()  # the store's idle connection is now dead
    assert store.history("A1") == [before]
    assert store.record(_keyed("k-1")) == before
    assert isinstance(store.last_actions()["A1"], RecordedAction)
