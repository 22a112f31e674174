"""A throwaway PostgreSQL server for tests and benchmarks, from the installed binaries.

Why our own thirty lines and not pytest-postgresql: CI runs as root, and ``initdb`` and
``pg_ctl`` refuse to run as root, so the server is created and run as the ``postgres`` user
(``runuser``) in a temporary folder that user owns. It listens on 127.0.0.1 on a free port
and on a Unix socket in that folder, with durability off (fsync, synchronous commit, full
page writes): a test server that loses its data on a power cut loses nothing of value, and
starts in about 1.5 s.

Used as ``with ThrowawayPostgres() as pg: pg.create_database("book"); pg.url("book")``;
``tests/conftest.py`` shares one per test session (fixture ``postgres``).
"""

from __future__ import annotations

import os
import shutil
import socket
import subprocess
import tempfile
from pathlib import Path
from types import TracebackType

__all__ = ["ThrowawayPostgres", "postgres_bin_dir"]

_USER = "kam"
_SEARCHED = tuple(f"/usr/lib/postgresql/{major}/bin" for major in (15, 16, 17))


def postgres_bin_dir() -> Path | None:
    """The folder holding ``initdb`` and ``pg_ctl``: what ``pg_config --bindir`` prints, else
    Debian's version folders, else the PATH; None when no server is installed."""
    candidates: list[str] = []
    if shutil.which("pg_config"):
        out = subprocess.run(["pg_config", "--bindir"], capture_output=True, text=True)
        candidates.append(out.stdout.strip())
    candidates += _SEARCHED
    found = shutil.which("initdb")
    if found:
        candidates.append(str(Path(found).parent))
    for folder in candidates:
        if folder and (Path(folder) / "initdb").is_file() and (Path(folder) / "pg_ctl").is_file():
            return Path(folder)
    return None


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


class ThrowawayPostgres:
    """A PostgreSQL server in a temporary folder, started on enter and removed on exit."""

    def __init__(self) -> None:
        bindir = postgres_bin_dir()
        if bindir is None:
            raise RuntimeError("no PostgreSQL server binaries (initdb, pg_ctl) are installed")
        self.bindir = bindir
        self.port = _free_port()
        self.root = Path(tempfile.mkdtemp(prefix="kam-pg-"))
        self.data = self.root / "data"
        self.log = self.root / "server.log"
        self.user = _USER

    # --- lifecycle ------------------------------------------------------------------
    def _as_owner(self, *command: str) -> list[str]:
        if os.geteuid() == 0:  # initdb and pg_ctl refuse root: run them as `postgres`
            return ["runuser", "-u", "postgres", "--", *command]
        return list(command)

    def start(self) -> ThrowawayPostgres:
        if os.geteuid() == 0:
            shutil.chown(self.root, user="postgres", group="postgres")
        self._run(
            str(self.bindir / "initdb"), "-D", str(self.data), "-U", self.user,
            "--auth=trust", "-E", "UTF8", "--no-sync", "--locale=C.UTF-8",
        )  # fmt: skip
        self._pg_ctl_start()
        return self

    def stop(self) -> None:
        if (self.data / "postmaster.pid").exists():
            subprocess.run(
                self._as_owner(str(self.bindir / "pg_ctl"), "-D", str(self.data), "-m",
                               "immediate", "stop"),
                capture_output=True,
            )  # fmt: skip
        shutil.rmtree(self.root, ignore_errors=True)

    def restart(self) -> None:
        """Stop and start the same server on the same port (its data kept)."""
        self._run(str(self.bindir / "pg_ctl"), "-D", str(self.data), "-m", "fast", "-w", "stop")
        self._pg_ctl_start()

    def _pg_ctl_start(self) -> None:
        options = (
            f"-p {self.port} -k {self.root} -c listen_addresses=127.0.0.1 -c fsync=off "
            "-c synchronous_commit=off -c full_page_writes=off -c max_connections=200"
        )
        self._run(
            str(self.bindir / "pg_ctl"), "-D", str(self.data), "-l", str(self.log),
            "-w", "-t", "60", "-o", options, "start",
        )  # fmt: skip

    def __enter__(self) -> ThrowawayPostgres:
        try:
            return self.start()
        except BaseException:
            self.stop()
            raise

    def __exit__(
        self,
        kind: type[BaseException] | None,
        error: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.stop()

    def _run(self, *command: str) -> None:
        done = subprocess.run(self._as_owner(*command), capture_output=True, text=True)
        if done.returncode != 0:
            log = self.log.read_text() if self.log.exists() else ""
            raise RuntimeError(
                f"{' '.join(command)} failed ({done.returncode}): {done.stderr}{done.stdout}{log}"
            )

    # --- use ------------------------------------------------------------------------
    def url(self, database: str = "postgres", driver: str = "postgresql") -> str:
        """A URI for ``database`` over TCP (``driver`` e.g. ``postgresql+psycopg``)."""
        return f"{driver}://{self.user}@127.0.0.1:{self.port}/{database}"

    def add_password_user(self, name: str, password: str) -> None:
        """A login role that must give ``password`` over TCP (every other role stays on
        trust): for tests of a wrong password. The rule is active when this returns."""
        import time

        import psycopg

        hba = self.data / "pg_hba.conf"
        rule = f"host all {name} 127.0.0.1/32 scram-sha-256\n"
        if rule not in hba.read_text():
            hba.write_text(rule + hba.read_text())  # first matching line wins
        with psycopg.connect(self.url(), autocommit=True) as conn:
            conn.execute(f'DROP ROLE IF EXISTS "{name}"')
            conn.execute(f"CREATE ROLE \"{name}\" LOGIN SUPERUSER PASSWORD '{password}'")
            conn.execute("SELECT pg_reload_conf()")
        for _ in range(100):  # the postmaster rereads pg_hba.conf on the signal, soon after
            try:
                psycopg.connect(f"postgresql://{name}@127.0.0.1:{self.port}/postgres").close()
            except psycopg.OperationalError:
                return
            time.sleep(0.05)
        raise RuntimeError(f"{hba}: the password rule for {name} did not take effect")

    def create_database(self, name: str) -> str:
        """Create ``name`` (dropping it first if it exists) and return its URI."""
        import psycopg

        with psycopg.connect(self.url(), autocommit=True) as conn:
            conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
            conn.execute(f'CREATE DATABASE "{name}"')
        return self.url(name)
