"""The test PostgreSQL server (tests/pg.py) starts as CI would run it, and keeps its data
across a restart (the MLflow and publish tests rely on both)."""

from __future__ import annotations

import psycopg

from tests.pg import ThrowawayPostgres


def test_a_database_survives_a_server_restart(postgres: ThrowawayPostgres) -> None:
    url = postgres.create_database("restart_check")
    with psycopg.connect(url) as conn:
        conn.execute("CREATE TABLE kept (n int)")
        conn.execute("INSERT INTO kept VALUES (41), (1)")
    postgres.restart()
    with psycopg.connect(url) as conn:
        assert conn.execute("SELECT sum(n) FROM kept").fetchone() == (42,)
