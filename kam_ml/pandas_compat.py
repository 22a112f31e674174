"""The one place kam-ml names a pandas feature whose spelling depends on the pandas version.

kam-ml supports pandas 2.2 and later (Databricks runtimes ship pandas < 3, `make
test-lowest-pandas` runs the data, code and property tests on the lowest release). Code
elsewhere is written to behave alike on both, with explicit dtypes; what cannot be spelled
the same way on both lives here:

- ``TEXT``: pandas 3's default text dtype, ``str`` = ``StringDtype(na_value=nan)``: missing
  values stay NaN (not ``pd.NA``) and comparisons give plain numpy booleans. On pandas 2,
  ``"str"`` names Python's ``str`` instead, so ``astype("str")`` turns NaN into the text
  ``"nan"`` and a blank cell becomes a value; the same NaN-semantics dtype exists there as
  ``StringDtype("pyarrow", na_value=nan)`` (2.3) or ``StringDtype("pyarrow_numpy")`` (2.2).
  ``arrow_to_pandas`` converts Arrow text to it, as pandas 3 does by default and pandas 2
  does not (it gives ``object`` columns of Python strings).
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import pyarrow as pa

__all__ = ["TEXT", "arrow_to_pandas"]


def _text_dtype() -> pd.StringDtype:
    try:  # pandas >= 2.3 (on pandas 3 this equals "str")
        return pd.StringDtype("pyarrow", na_value=np.nan)
    except TypeError:  # pandas 2.2: no na_value argument yet
        return pd.StringDtype("pyarrow_numpy")


TEXT = _text_dtype()


_ARROW_TEXT = {pa.string(): TEXT, pa.large_string(): TEXT}


def arrow_to_pandas(table: pa.Table) -> pd.DataFrame:
    """``table.to_pandas()`` with every text column as ``TEXT``, on any pandas."""
    return table.to_pandas(types_mapper=_ARROW_TEXT.get)
