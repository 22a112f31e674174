"""The night's scores in PostgreSQL: ``kam-ml nightly --publish`` and ``kam-ml publish``.

A real server (``tests/pg.py``) and the real CLI in subprocesses: the table equals the
night's ``explained.parquet``, a night published again is replaced exactly, and a publisher
killed (or cut off by the server) in the middle of its transaction leaves every night as it
was. The kills are made deterministic without any hook in the product: the test holds a row
lock the publisher's DELETE (or a key its INSERT) must wait for, sees the publisher waiting
in ``pg_stat_activity``, and kills it there.
"""

from __future__ import annotations

import json
import os
import shutil
import signal
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import numpy as np
import pandas as pd
import psycopg
import pytest

from kam_ml.errors import ScoresDatabaseError
from kam_ml.nightly.database import APPLICATION_NAME, publish_night, publish_scores
from kam_ml.nightly.snapshot import read_snapshot


def kam_ml(
    args: list[str], cwd: Path, tracking_uri: str, publish_url: str | None = None
) -> subprocess.Popen[str]:
    env = os.environ | {"MLFLOW_TRACKING_URI": tracking_uri, "COLUMNS": "200"}
    env.pop("KAM_PUBLISH_URL", None)
    if publish_url is not None:
        env["KAM_PUBLISH_URL"] = publish_url
    return subprocess.Popen(
        [sys.executable, "-m", "kam_ml", *args],
        cwd=cwd,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )


def finished(process: subprocess.Popen[str]) -> tuple[int, str, str]:
    out, err = process.communicate(timeout=600)
    return process.returncode, out, err


def rows(url: str, relation: str = "kam_scores", where: str = "true") -> pd.DataFrame:
    """The relation's rows, sorted, JSON decoded (psycopg decodes jsonb itself)."""
    with psycopg.connect(url) as conn:
        cursor = conn.execute(f"SELECT * FROM {relation} WHERE {where} ORDER BY as_of, account_id")
        names = [d.name for d in cursor.description]
        return pd.DataFrame(cursor.fetchall(), columns=names)


def night_rows(url: str, day: str) -> pd.DataFrame:
    return rows(url, where=f"as_of = DATE '{day}'")


def plain(value: object) -> object:
    """A Parquet cell (NumPy arrays of dicts) as the JSON it was written as."""
    return json.loads(json.dumps(value, default=lambda v: v.tolist()))


def test_nightly_publish_fills_kam_scores_with_the_night(book, postgres, tmp_path):
    url = postgres.create_database("scores_cli")
    out = tmp_path / "nightly"
    first = book.first.directory
    shutil.copytree(first, out / first.name)  # a previous night: the changes are filled
    code, stdout, stderr = finished(
        kam_ml(
            ["nightly", "--data", str(book.data), "--out", str(out), "--publish", url],
            tmp_path,
            book.tracking_uri,
        )
    )
    assert code == 0, stderr
    assert "publish to database" in stdout  # a stage with its timing, as the others
    day = str(book.second.as_of.date())
    explained = read_snapshot(out / day).explained().sort_values("account_id")
    assert f"Scores of {day} in kam_scores" in stdout
    table = night_rows(url, day)
    assert len(table) == len(explained) and table["account_id"].is_unique
    assert table["account_id"].tolist() == explained["account_id"].tolist()
    assert set(table["as_of"].astype(str)) == {day}
    np.testing.assert_array_equal(table["churn_probability"], explained["churn_probability"])
    np.testing.assert_array_equal(table["revenue_at_risk"], explained["revenue_at_risk"])
    np.testing.assert_array_equal(table["expected_value_12m"], explained["expected_value_12m"])
    assert table["risk_band"].tolist() == explained["risk_band"].tolist()
    assert table["manager"].tolist() == explained["manager"].tolist()
    assert table["reasons"].tolist() == [plain(r) for r in explained["reason_details"]]
    assert any(table["reasons"].map(len))
    assert table["reasons"].iloc[0][0].keys() >= {"feature", "text", "contribution", "value"}
    offers = [
        [
            {"category": c, "label": lab, "score": s, "reason": r}
            for c, lab, s, r in zip(*(plain(row[k]) for k in keys), strict=True)
        ]
        for row in explained.to_dict("records")
        for keys in [("offers", "offer_labels", "offer_scores", "offer_reasons")]
    ]
    assert table["offers"].tolist() == offers and any(map(len, offers))
    assert table["changes"].tolist() == [plain(c) for c in explained["changes"]]
    assert any(table["changes"].map(len))  # compared with the copied night
    assert table["what_changed"].tolist() == explained["what_changed"].tolist()
    for model in ("churn", "offers", "value"):
        column = f"{model}_model_version"
        assert table[column].tolist() == explained[column].tolist()
    assert table["published_at"].nunique() == 1  # one transaction
    latest = rows(url, "kam_scores_latest")
    assert latest["account_id"].tolist() == table["account_id"].tolist()


def test_publishing_a_night_again_replaces_it_exactly(book, postgres):
    url = postgres.create_database("scores_again")
    older, newer = read_snapshot(book.first.directory), read_snapshot(book.second.directory)
    first = publish_night(older.directory, url)
    assert (first.as_of, first.rows, first.replaced) == (older.as_of, book.first.accounts, 0)
    kept = night_rows(url, older.as_of)
    assert set(rows(url, "kam_scores_latest")["as_of"].astype(str)) == {older.as_of}
    publish_night(newer.directory, url)  # a newer night: latest switches to it
    assert set(rows(url, "kam_scores_latest")["as_of"].astype(str)) == {newer.as_of}

    changed = newer.explained().iloc[10:].reset_index(drop=True)  # ten accounts fewer
    changed["churn_probability"] = changed["churn_probability"] / 2
    changed["risk_band"] = "low"
    again = publish_scores(changed, newer.as_of, url)
    assert (again.rows, again.replaced) == (len(changed), book.second.accounts)
    table = night_rows(url, newer.as_of)
    assert table["account_id"].tolist() == sorted(changed["account_id"])
    expected = changed.sort_values("account_id")["churn_probability"].to_numpy()
    np.testing.assert_array_equal(table["churn_probability"], expected)
    assert set(table["risk_band"]) == {"low"}
    pd.testing.assert_frame_equal(night_rows(url, older.as_of), kept)  # untouched
    assert len(rows(url, "kam_scores_latest")) == len(changed)


def _waiting_publisher(url: str, statement: str, deadline: float = 120) -> int:
    """The publisher's backend pid once it waits for a lock in ``statement`` (DELETE/INSERT)."""
    end = time.monotonic() + deadline
    with psycopg.connect(url, autocommit=True) as conn:
        while time.monotonic() < end:
            found = conn.execute(
                "SELECT pid FROM pg_stat_activity WHERE application_name = %s "
                "AND wait_event_type = 'Lock' AND query ILIKE %s",
                (APPLICATION_NAME, f"{statement}%"),
            ).fetchall()
            if found:
                return int(found[0][0])
            time.sleep(0.05)
    raise AssertionError(f"the publisher never waited in its {statement}")


def _gone(url: str, pid: int) -> None:
    """Wait until the publisher's backend has ended (and rolled back)."""
    with psycopg.connect(url, autocommit=True) as conn:
        for _ in range(600):
            alive = conn.execute("SELECT 1 FROM pg_stat_activity WHERE pid = %s", (pid,))
            if alive.fetchone() is None:
                return
            time.sleep(0.05)
    raise AssertionError("the killed publisher's backend is still there")


@contextmanager
def _publisher_held_by(
    url: str, blocker: psycopg.Connection, night: Path, tmp_path: Path, statement: str
) -> Iterator[tuple[subprocess.Popen[str], int]]:
    """``kam-ml publish`` of ``night``, yielded with its backend's pid once it waits on
    ``blocker``'s lock in ``statement``; the lock is released and the publisher reaped after."""
    publisher = kam_ml(["publish", "--night", str(night), "--to", url], tmp_path, "")
    try:
        yield publisher, _waiting_publisher(url, statement)
    finally:
        blocker.rollback()
        blocker.close()
        if publisher.poll() is None:
            publisher.kill()
            publisher.communicate()


@pytest.mark.parametrize("kill", ["sigkill", "server"])
def test_a_publisher_killed_while_inserting_leaves_every_night_as_it_was(
    book, postgres, tmp_path, kill
):
    url = postgres.create_database(f"scores_kill_insert_{kill}")
    older, newer = book.first.directory, book.second.directory
    publish_night(older, url)
    before = night_rows(url, older.name)
    middle = str(read_snapshot(newer).explained()["account_id"].iloc[book.second.accounts // 2])
    blocker = psycopg.connect(url)  # a transaction holding one key of the new night
    blocker.execute(
        "INSERT INTO kam_scores (as_of, account_id, published_at) VALUES (%s, %s, now())",
        (newer.name, middle),
    )
    # half the night inserted, then waiting on the blocker's key
    with _publisher_held_by(url, blocker, newer, tmp_path, "INSERT") as (publisher, pid):
        if kill == "sigkill":
            publisher.send_signal(signal.SIGKILL)
        else:
            with psycopg.connect(url, autocommit=True) as admin:
                admin.execute("SELECT pg_terminate_backend(%s)", (pid,))
        code, _, stderr = finished(publisher)
    _gone(url, pid)
    if kill == "sigkill":
        assert code == -signal.SIGKILL
    else:  # the server cut the connection: a clear message, exit 1, no traceback
        assert code == 1 and "Traceback" not in stderr
        assert f"Could not publish the {newer.name} scores to {url}" in stderr.replace("\n", "")
    pd.testing.assert_frame_equal(night_rows(url, older.name), before)
    assert night_rows(url, newer.name).empty
    assert set(rows(url, "kam_scores_latest")["as_of"].astype(str)) == {older.name}


def test_a_publisher_killed_while_deleting_the_old_rows_leaves_them(book, postgres, tmp_path):
    url = postgres.create_database("scores_kill_delete")
    night = book.second.directory
    publish_night(night, url)
    before = night_rows(url, night.name)
    middle = before["account_id"].iloc[len(before) // 2]
    blocker = psycopg.connect(url)  # a row the DELETE reaches half-way through
    blocker.execute(
        "SELECT 1 FROM kam_scores WHERE as_of = %s AND account_id = %s FOR UPDATE",
        (night.name, middle),
    )
    with _publisher_held_by(url, blocker, night, tmp_path, "DELETE") as (publisher, pid):
        publisher.send_signal(signal.SIGKILL)
        finished(publisher)
    _gone(url, pid)
    after = night_rows(url, night.name)
    pd.testing.assert_frame_equal(after, before)  # published_at too: the old rows, all


def _closed_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def test_an_unreachable_database_fails_the_night_clearly_with_its_files_published(book, tmp_path):
    port = _closed_port()
    url = f"postgresql://kam:s3cret@127.0.0.1:{port}/crm"
    out = tmp_path / "nightly"
    code, stdout, stderr = finished(
        kam_ml(  # through $KAM_PUBLISH_URL, the default of --publish
            ["nightly", "--data", str(book.data), "--out", str(out)],
            tmp_path,
            book.tracking_uri,
            publish_url=url,
        )
    )
    message = " ".join(stderr.split())
    assert code == 1, stdout
    assert "s3cret" not in stderr + stdout and "Traceback" not in stderr
    day = str(book.second.as_of.date())
    assert f"Could not publish the {day} scores to postgresql://kam:***@127.0.0.1:{port}/crm" in (
        message
    )
    assert f"(host 127.0.0.1:{port})" in message
    assert "the database was not updated" in message
    assert "files are published" in message and (out / day / "explained.parquet").is_file()


def test_publish_names_a_missing_database_and_hides_the_password(book, postgres, tmp_path):
    url = postgres.url("no_such_db").replace("kam@", "kam:s3cret@")
    code, _, stderr = finished(
        kam_ml(["publish", "--night", str(book.second.directory), "--to", url], tmp_path, "")
    )
    message = " ".join(stderr.split())
    assert code == 1 and "s3cret" not in stderr and "Traceback" not in stderr
    assert 'database "no_such_db" does not exist' in message
    assert f"(host 127.0.0.1:{postgres.port})" in message
    with pytest.raises(ScoresDatabaseError, match="is not a PostgreSQL URI"):
        publish_night(book.second.directory, "mysql://kam@db/crm")


def test_a_wrong_password_is_refused_naming_the_server_without_the_password(book, postgres):
    postgres.add_password_user("scores_writer", "right-pass-phrase")
    url = f"postgresql://scores_writer:wrong-pass-phrase@127.0.0.1:{postgres.port}/postgres"
    with pytest.raises(ScoresDatabaseError) as refused:
        publish_night(book.second.directory, url)
    message = str(refused.value)
    assert "wrong-pass-phrase" not in message and "scores_writer:***@" in message
    assert 'password authentication failed for user "scores_writer"' in message
    assert f"127.0.0.1:{postgres.port}" in message


def _waiting(url: str, count: int) -> None:
    with psycopg.connect(url, autocommit=True) as conn:
        for _ in range(2400):
            found = conn.execute(
                "SELECT count(*) FROM pg_stat_activity WHERE application_name = %s "
                "AND wait_event_type = 'Lock'",
                (APPLICATION_NAME,),
            ).fetchone()
            if found is not None and found[0] == count:
                return
            time.sleep(0.05)
    raise AssertionError(f"{count} publishers never waited together")


def test_publishers_of_one_night_at_once_queue_and_a_newer_schema_is_refused(book, postgres):
    url = postgres.create_database("scores_together")
    night = read_snapshot(book.second.directory)
    explained = night.explained()
    publish_scores(explained, night.as_of, url)
    results: list[object] = []

    def publish() -> None:
        try:
            results.append(publish_scores(explained, night.as_of, url))
        except Exception as error:
            results.append(error)

    blocker = psycopg.connect(url)  # holds the night's rows: all three start together
    blocker.execute("SELECT 1 FROM kam_scores WHERE as_of = %s FOR UPDATE", (night.as_of,))
    threads = [threading.Thread(target=publish) for _ in range(3)]
    for thread in threads:
        thread.start()
    try:
        _waiting(url, 3)
    finally:
        blocker.rollback()
        blocker.close()
        for thread in threads:
            thread.join(timeout=120)
    assert [type(r).__name__ for r in results] == ["PublishedScores"] * 3, results
    table = night_rows(url, night.as_of)
    assert len(table) == len(explained) and table["account_id"].is_unique
    with psycopg.connect(url, autocommit=True) as conn:
        conn.execute("UPDATE kam_schema SET version = 2 WHERE component = 'kam_scores'")
    with pytest.raises(ScoresDatabaseError, match="kam_scores at schema version 2"):
        publish_scores(explained, night.as_of, url)
