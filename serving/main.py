"""``uvicorn serving.main:app``: the app built from the environment (``KAM_*``)."""

from __future__ import annotations

from serving.app import create_app

__all__ = ["app"]

app = create_app()  # reads settings only; models and the snapshot load at start-up
