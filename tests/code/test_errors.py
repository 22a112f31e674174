"""The exception tree: every public error is a KamMLError and is drawn in the docstring."""

from __future__ import annotations

import numpy as np
import pytest

import kam_ml.errors as errors
from kam_ml.errors import DefinitionError, KamMLError, require_positive_int

EXCEPTIONS = [getattr(errors, n) for n in errors.__all__ if isinstance(getattr(errors, n), type)]


@pytest.mark.parametrize("error", EXCEPTIONS, ids=lambda e: e.__name__)
def test_every_public_error_is_a_kam_ml_error_drawn_in_the_tree(error: type) -> None:
    assert issubclass(error, KamMLError)
    assert f"── {error.__name__} " in (errors.__doc__ or "") or error is KamMLError


@pytest.mark.parametrize("value", [1, 90, np.int64(7), np.int32(1)])
def test_positive_ints_pass(value: object) -> None:
    require_positive_int("ProblemDefinition", "horizon_days", value)


@pytest.mark.parametrize("value", [0, -3, True, 1.0, "3", None, np.float64(2.0)])
def test_anything_else_names_the_owner_the_parameter_and_the_value(value: object) -> None:
    with pytest.raises(DefinitionError) as raised:
        require_positive_int("ProblemDefinition", "horizon_days", value)
    assert str(raised.value) == (
        f"The 'horizon_days' of ProblemDefinition must be a positive int. Got {value!r} instead."
    )
    assert isinstance(raised.value, ValueError)  # callers catching the built-in keep working
