"""The curated ``kam_ml`` namespace: every name in ``__all__`` resolves, lazily."""

from __future__ import annotations

import subprocess
import sys

import pytest

import kam_ml


@pytest.mark.parametrize("name", kam_ml.__all__)
def test_every_exported_name_exists(name: str) -> None:
    assert getattr(kam_ml, name) is not None


def test_unknown_name_is_an_attribute_error() -> None:
    with pytest.raises(AttributeError, match="has no attribute 'nope'"):
        kam_ml.nope  # noqa: B018


def test_importing_the_package_imports_no_heavy_module() -> None:
    code = (
        "import sys, kam_ml; print(sorted(m for m in ('mlflow', 'lightgbm') if m in sys.modules))"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "[]"
