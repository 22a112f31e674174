"""``kam-ml serve``: run uvicorn on ``serving.main:app``."""

from __future__ import annotations

import os
from pathlib import Path

__all__ = ["serve"]


def serve(host: str, port: int, nightly_dir: Path | None = None, workers: int = 1) -> None:
    """Run the API; ``nightly_dir`` overrides $KAM_NIGHTLY_DIR (set before the app is built)."""
    import uvicorn

    if nightly_dir is not None:
        os.environ["KAM_NIGHTLY_DIR"] = str(Path(nightly_dir).resolve())
    uvicorn.run("serving.main:app", host=host, port=port, workers=workers, log_level="info")
