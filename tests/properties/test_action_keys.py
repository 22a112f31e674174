"""Property: for any sequence of posts, keyed or not, a store keeps exactly what a plain
model of idempotency says — every unkeyed action, the first action of each key; a retry of
the same action is answered with that first one, another action under a used key is
refused — on SQLite and on PostgreSQL."""

from __future__ import annotations

import datetime as dt
import tempfile
from pathlib import Path

import psycopg
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from kam_ml.actions import ActionKind, ActionStore, NewAction, open_action_store
from kam_ml.errors import ActionKeyReusedError

T0 = dt.datetime(2026, 11, 2, 9, 30, tzinfo=dt.UTC)
POSTS = st.lists(
    st.tuples(
        st.sampled_from([None, "k1", "k2", "k3"]),  # few keys: they collide often
        st.sampled_from([ActionKind.called, ActionKind.met]),
        st.sampled_from([None, "a note"]),
    ),
    max_size=10,
)


@pytest.fixture(scope="module")
def postgres_url(postgres) -> str:
    return postgres.create_database("actions_keys")


def _empty_store(kind: str, request: pytest.FixtureRequest) -> ActionStore:
    if kind == "sqlite":
        return open_action_store(f"sqlite:///{Path(tempfile.mkdtemp()) / 'actions.db'}")
    url: str = request.getfixturevalue("postgres_url")
    with psycopg.connect(url, autocommit=True) as connection:
        connection.execute("DROP TABLE IF EXISTS account_actions, kam_schema_migrations")
    return open_action_store(url)


@pytest.mark.parametrize("kind", ["sqlite", "postgresql"])
@settings(
    max_examples=25, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(posts=POSTS)
def test_a_store_keeps_the_first_action_of_each_key_and_every_unkeyed_one(kind, request, posts):
    store = _empty_store(kind, request)
    first: dict[str, tuple[NewAction, int]] = {}  # key -> the action stored under it, its id
    kept: list[int] = []
    for minutes, (key, action, note) in enumerate(posts):
        new = NewAction("A1", action, "crm", note=note, idempotency_key=key)
        at = T0 + dt.timedelta(minutes=minutes)
        earlier = first.get(key) if key is not None else None
        if earlier is not None and earlier[0] != new:
            with pytest.raises(ActionKeyReusedError) as caught:
                store.record(new, at=at)
            assert caught.value.existing_id == earlier[1]
            continue
        recorded = store.record(new, at=at)
        assert recorded.replayed == (earlier is not None)
        if earlier is not None:
            assert recorded.id == earlier[1] and recorded.recorded_at < at
        else:
            kept.append(recorded.id)
            if key is not None:
                first[key] = (new, recorded.id)
    assert [a.id for a in store.history("A1")] == kept[::-1]
