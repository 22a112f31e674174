"""A change from "none before" is worded plainly: a value that appeared never reads as a drop."""

import numpy as np

from kam_ml.scoring.changes import _entry_texts


def test_a_value_that_appeared_is_not_called_low() -> None:
    texts = _entry_texts(
        ["nps_mean_365d"], np.array([0, 0]), np.array([10.0, 3.0]), np.array([np.nan, 8.0])
    )
    assert texts[0].startswith("Average NPS 10.0 of 10"), texts[0]
    assert texts[1].startswith("Average NPS only 3.0 of 10"), texts[1]
