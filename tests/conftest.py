"""Shared fixtures."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from tests.pg import ThrowawayPostgres, postgres_bin_dir


@pytest.fixture
def seed() -> int:
    """One place to change the seed; assertions must hold for any seed."""
    return 11


@pytest.fixture(scope="session")
def postgres() -> Iterator[ThrowawayPostgres]:
    """One throwaway PostgreSQL server per test session (tests/pg.py); each test creates
    the databases it needs with ``postgres.create_database(name)``."""
    if postgres_bin_dir() is None:
        pytest.skip("PostgreSQL server binaries are not installed (apt-get install postgresql-15)")
    with ThrowawayPostgres() as server:
        yield server
