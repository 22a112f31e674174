"""Shared fixtures."""

from __future__ import annotations

import pytest


@pytest.fixture
def seed() -> int:
    """One place to change the seed; assertions must hold for any seed."""
    return 11
