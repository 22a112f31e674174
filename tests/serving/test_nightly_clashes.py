"""Two ``kam-ml nightly`` processes on one folder, and SIGKILL at the publication's swap.

Real processes throughout, as in the reliability probe: a wrapper patches one function of
the job (to sleep, or to ``SIGKILL`` itself) and then runs ``kam_ml.cli.app``. The API is a
real uvicorn server over the folder the processes write.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import json
import os
import shutil
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import httpx
import pandas as pd
import pytest

from kam_ml.actions import default_actions_url, open_action_store
from kam_ml.nightly.job import run_nightly
from kam_ml.nightly.lock import LOCK_FILE
from kam_ml.nightly.snapshot import (
    VERSIONS,
    SnapshotFiles,
    latest_night,
    night_directories,
    publish,
    read_snapshot,
)
from kam_ml.registry.champions import ChampionSource
from tests.serving.conftest import running

WRAPPER = textwrap.dedent(
    """
    import os, signal, sys, time
    from pathlib import Path
    how = os.environ["KAM_TEST_HOW"]
    if how == "slow":  # a big book: the run sits in its risk lists with its staging folder
        import kam_ml.nightly.job as job
        write = job.write_snapshot
        def slow(staging, parts):
            write(staging, parts)
            Path(os.environ["KAM_TEST_MARK"]).write_text(str(staging))
            release = Path(os.environ["KAM_TEST_RELEASE"])
            deadline = time.monotonic() + 300
            while not release.exists() and time.monotonic() < deadline:
                time.sleep(0.1)  # until the test lets it go on
        job.write_snapshot = slow
    elif how == "kill_before_swap":  # the new version is in place, the link not yet swapped
        replace = os.replace
        def crash(src, dst, *args, **kwargs):
            if Path(dst).name == os.environ["KAM_TEST_DAY"]:
                os.kill(os.getpid(), signal.SIGKILL)
            return replace(src, dst, *args, **kwargs)
        os.replace = crash
    elif how == "kill_after_swap":  # the link swapped, the version it replaced not yet deleted
        import shutil
        rmtree = shutil.rmtree
        def crash(path, *args, **kwargs):
            if "/.nights/" in str(path):
                os.kill(os.getpid(), signal.SIGKILL)
            return rmtree(path, *args, **kwargs)
        shutil.rmtree = crash
    from kam_ml.cli import app
    sys.argv = ["kam-ml", *sys.argv[1:]]
    app()
    """
)


def _nightly(book, tmp_path: Path, out: Path, how: str, **env: str) -> subprocess.Popen[str]:
    wrapper = tmp_path / "wrapper.py"
    wrapper.write_text(WRAPPER, encoding="utf-8")
    day = str(book.second.as_of.date())
    environment = os.environ | {
        "MLFLOW_TRACKING_URI": book.tracking_uri,
        "KAM_MODELS_DIR": str(book.models_dir),
        "COLUMNS": "200",
        "KAM_TEST_HOW": how,
        "KAM_TEST_DAY": day,
    }
    args = ["nightly", "--data", str(book.data), "--out", str(out), "--as-of", day]
    return subprocess.Popen(
        [sys.executable, str(wrapper), *args],
        cwd=tmp_path,
        env=environment | env,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )


def _digests(directory: Path) -> dict[str, str]:
    return {
        p.relative_to(directory).as_posix(): hashlib.sha256(p.read_bytes()).hexdigest()
        for p in sorted(directory.rglob("*"))
        if p.is_file()
    }


def test_a_second_run_stops_naming_the_first_and_never_touches_its_staging(book, tmp_path):
    out, mark = tmp_path / "nightly", tmp_path / "slow-run-is-writing"
    release = tmp_path / "let-the-slow-run-finish"
    slow = _nightly(
        book, tmp_path, out, "slow", KAM_TEST_MARK=str(mark), KAM_TEST_RELEASE=str(release)
    )
    try:
        deadline = time.monotonic() + 300
        while not mark.exists():
            assert slow.poll() is None, slow.communicate()
            assert time.monotonic() < deadline, "the slow run never reached its risk lists"
            time.sleep(0.1)
        staging = Path(mark.read_text())
        second = _nightly(book, tmp_path, out, "none")
        stdout, stderr = second.communicate(timeout=300)
        assert second.returncode == 1, stdout + stderr
        assert "Another kam-ml nightly is writing" in stderr
        assert f"pid {slow.pid} " in stderr and "started 20" in stderr  # who holds it, since when
        assert "Traceback" not in stdout + stderr
        assert staging.is_dir()  # the live run's staging folder is untouched
    finally:
        release.touch()  # the slow run goes on, whatever the assertions said
    slow_out, slow_err = slow.communicate(timeout=300)
    assert slow.returncode == 0, slow_out + slow_err
    night = read_snapshot(out / str(book.second.as_of.date()))
    assert night.manifest["accounts"] == book.second.accounts
    assert not [p for p in out.iterdir() if ".staging-" in p.name]


def test_stale_staging_and_a_stale_lock_file_of_a_dead_run_are_cleaned(book, tmp_path):
    out = tmp_path / "nightly"
    out.mkdir()
    dead = subprocess.run(
        [sys.executable, "-c", "import os; print(os.getpid())"],
        check=True,
        capture_output=True,
        text=True,
    )
    staging = out / f".{book.second.as_of.date()}.staging-{int(dead.stdout)}"
    (staging / "risk_lists").mkdir(parents=True)
    (out / LOCK_FILE).write_text("pid 1 on gone, started 2026-01-01T00:00:00+00:00\n")
    source = ChampionSource(tracking_uri=book.tracking_uri, models_dir=book.models_dir)
    result = run_nightly(book.tables, out, source, as_of=book.second.as_of)
    assert not staging.exists()
    assert read_snapshot(result.directory).manifest["accounts"] == book.second.accounts
    assert f"pid {os.getpid()} " in (out / LOCK_FILE).read_text()  # the lock file names its run


@pytest.mark.parametrize("how", ["kill_before_swap", "kill_after_swap"])
def test_sigkill_in_a_same_date_rerun_never_hides_the_night(book, tmp_path, how):
    out = tmp_path / "nightly"
    day = str(book.second.as_of.date())
    _as_the_cli_runs(book, out, book.second.as_of - pd.Timedelta(days=1))
    _as_the_cli_runs(book, out, book.second.as_of)
    before = _digests(out / day)
    with running(book.settings(nightly_dir=out)) as url:
        crashed = _nightly(book, tmp_path, out, how)
        stdout, stderr = crashed.communicate(timeout=300)
        assert crashed.returncode == -9, stdout + stderr  # killed at the crash point
        # the night is whole, byte for byte the same (a rerun writes the same bytes)
        assert _digests(out / day) == before
        assert latest_night(out) == out / day
        assert [p.name for p in night_directories(out)][-1] == day
        time.sleep(1.0)  # reload interval 0.2 s: the API has looked again
        ready = httpx.get(f"{url}/ready", timeout=30).json()
        assert ready["snapshot_as_of"] == ready["snapshot_published_as_of"] == day
        assert ready["snapshot_problems"] == []
    leftovers = sorted(p.name for p in out.iterdir() if p.name.startswith(f".{day}"))
    versions = [p for p in (out / VERSIONS).iterdir() if p.name.startswith(f"{day}.")]
    assert leftovers or len(versions) == 2  # the crash left debris ...
    _as_the_cli_runs(book, out, book.second.as_of)  # ... the next run clears it
    assert not [p for p in out.iterdir() if p.name.startswith(f".{day}")]
    assert len([p for p in (out / VERSIONS).iterdir() if p.name.startswith(f"{day}.")]) == 1
    assert _digests(out / day) == before


def test_ready_says_when_the_night_published_last_could_not_be_loaded(book, tmp_path):
    out = tmp_path / "nightly"
    first, second = str(book.first.as_of.date()), str(book.second.as_of.date())
    out.mkdir()
    _copy_published(book.first.directory, out, first)
    with running(book.settings(nightly_dir=out)) as url:
        assert httpx.get(f"{url}/ready", timeout=30).json()["snapshot_as_of"] == first
        staging = out / f".{second}.staging-broken"
        shutil.copytree(book.second.directory, staging)
        (staging / SnapshotFiles.EXPLAINED).write_bytes(b"not parquet")  # a broken night
        publish(staging, out, second)
        ready = _ready_once(url, lambda body: body["snapshot_problems"])
        assert ready["status"] == "ready"  # the previous night keeps serving ...
        assert ready["snapshot_as_of"] == first  # ... and /ready says which one, and why
        assert ready["snapshot_published_as_of"] == second
        [problem] = ready["snapshot_problems"]
        assert problem.startswith(f"the night {second} could not be loaded: ")
        assert problem.endswith(f"; serving {first}")
        assert str(tmp_path) not in json.dumps(ready)  # the open probe shows no paths


def test_ready_says_when_latest_json_names_a_night_that_is_gone(book, tmp_path):
    out = tmp_path / "nightly"
    first = str(book.first.as_of.date())
    out.mkdir()
    _copy_published(book.first.directory, out, first)
    (out / "latest.json").write_text('{"as_of": "2026-12-31"}')
    with running(book.settings(nightly_dir=out)) as url:
        ready = _ready_once(url, lambda body: body["snapshot_problems"])
    assert ready["snapshot_as_of"] == first
    assert ready["snapshot_problems"] == [
        f"latest.json names 2026-12-31, which is not a published night; serving {first}"
    ]


def _copy_published(night: Path, out: Path, day: str) -> Path:
    staging = out / f".{day}.staging-copy"
    shutil.copytree(night, staging)
    return publish(staging, out, day)


def _ready_once(url: str, condition, timeout: float = 30) -> dict:  # type: ignore[no-untyped-def]
    deadline = time.monotonic() + timeout
    while True:
        body = httpx.get(f"{url}/ready", timeout=30).json()
        if condition(body) or time.monotonic() > deadline:
            return body
        time.sleep(0.1)


def _as_the_cli_runs(book, out: Path, as_of: pd.Timestamp) -> None:  # type: ignore[no-untyped-def]
    """``run_nightly`` in this process with what ``kam-ml nightly`` passes it (the data
    folder, today, the default actions store), so its files match the command's byte for byte."""
    run_nightly(
        str(book.data),
        out,
        ChampionSource(tracking_uri=book.tracking_uri, models_dir=book.models_dir),
        as_of=as_of,
        today=pd.Timestamp(dt.datetime.now(dt.UTC).date()),
        actions=open_action_store(default_actions_url(out)),
    )
