"""Reference for bench_serving.py: the smallest FastAPI endpoint calling the LightGBM booster.

No auth, no reasons, no offers, no metrics: one row in, one probability out. Run by the
benchmark as ``uvicorn minimal_app:app`` with ``KAM_BENCH_BUNDLE`` naming a bundle folder.
"""

from __future__ import annotations

import os
from contextlib import asynccontextmanager
from pathlib import Path

import numpy as np
from fastapi import FastAPI
from pydantic import BaseModel

from kam_ml.registry.bundle import BundleTrust, load_bundle

STATE: dict = {}


@asynccontextmanager
async def lifespan(app: FastAPI):  # type: ignore[no-untyped-def]
    folder = Path(os.environ["KAM_BENCH_BUNDLE"])
    trust = BundleTrust(trusted_root=folder.parent, allow_unverified=True)  # the bench's own
    STATE["booster"] = load_bundle(folder, trust=trust).model.booster_.booster_
    yield


app = FastAPI(lifespan=lifespan)


class Row(BaseModel):
    features: list[float | None]


@app.post("/predict")
async def predict(row: Row) -> dict[str, float]:
    values = np.asarray([[np.nan if v is None else v for v in row.features]], dtype=float)
    value = STATE["booster"].predict(values, num_threads=1)
    return {"probability": float(value[0])}
