"""A small contract dataset, as a CSV export would deliver it: every column as text."""

from __future__ import annotations

import io
from collections.abc import Callable
from pathlib import Path

import pandas as pd
import pytest

# Four accounts, eight order lines, four service events, a catalogue without "belts".
# A-3 has no manager and A-4 no segment; order lines spell booleans several ways.
CSV = {
    "accounts": """account_id,signup_date,manager,region,segment
A-1,2023-01-10,Ana,EMEA,gold
A-2,2023-02-01,Ben,AMER,silver
A-3,2023-03-15,,APAC,platinum
A-4,2023-04-01,Ana,EMEA,
""",
    "orders": "order_id,account_id,order_date,category,product_id,"
    + """quantity,amount,returned,return_date
O-1,A-1,2024-01-05,bags,P-1,1,100.0,false,
O-2,A-1,2024-02-10 10:30:00,shoes,P-2,2,250.5,yes,2024-02-20
O-3,A-2,2024-01-20,bags,P-1,1,80,,
O-4,A-2,2024-03-01,watches,P-3,1,1200,no,
O-5,A-3,2024-02-14,shoes,P-2,3,300,,
O-6,A-3,2024-04-01 08:00:00,bags,P-1,1,95,TRUE,
O-7,A-4,2024-05-05,watches,P-3,1,999.99,0,
O-8,A-4,2024-05-06,belts,P-4,4,160,,
""",
    "interactions": """account_id,event_date,event_type,value
A-1,2024-01-15,complaint,
A-2,2024-02-01,nps,9
A-3,2024-03-01,ticket,4.5
A-1,2024-03-10,nps,3
""",
    "categories": """category,margin_rate
bags,0.4
shoes,0.35
watches,0.25
""",
}


def read_text_tables() -> dict[str, pd.DataFrame]:
    """The dataset exactly as ``kam_ml.data.sources`` reads CSV: strings, blanks as NaN."""
    return {
        name: pd.read_csv(io.StringIO(text), dtype=str, keep_default_na=True)
        for name, text in CSV.items()
    }


@pytest.fixture(scope="session")
def fresh_tables() -> Callable[[], dict[str, pd.DataFrame]]:
    """A factory of fresh clean datasets, for hypothesis tests that need one per example."""
    return read_text_tables


@pytest.fixture
def raw() -> dict[str, pd.DataFrame]:
    """A fresh copy of the clean dataset for each test to break in its own way."""
    return read_text_tables()


@pytest.fixture
def csv_folder(tmp_path: Path) -> Path:
    """The clean dataset written as ``<table>.csv`` files in a fresh folder."""
    folder = tmp_path / "csv"
    folder.mkdir()
    for name, text in CSV.items():
        (folder / f"{name}.csv").write_text(text)
    return folder
