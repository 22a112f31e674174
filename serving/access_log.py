"""Keys never reach the access log: uvicorn logs each request line with its query string,
and a browser's first page carries ``?key=...`` (the risk-list login)."""

from __future__ import annotations

import logging
import re

__all__ = ["KeyRedactor", "redact_keys_in_access_log"]

_KEY_IN_QUERY = re.compile(r"([?&]key=)[^&#\s]*", re.IGNORECASE)


class KeyRedactor(logging.Filter):
    """Rewrites ``key=<anything>`` in a logged request line to ``key=***``."""

    def filter(self, record: logging.LogRecord) -> bool:
        if isinstance(record.args, tuple):
            record.args = tuple(
                _KEY_IN_QUERY.sub(r"\1***", a) if isinstance(a, str) else a for a in record.args
            )
        elif isinstance(record.msg, str):
            record.msg = _KEY_IN_QUERY.sub(r"\1***", record.msg)
        return True


def redact_keys_in_access_log() -> None:
    """Install the filter on uvicorn's access logger, once per process."""
    access = logging.getLogger("uvicorn.access")
    if not any(isinstance(f, KeyRedactor) for f in access.filters):
        access.addFilter(KeyRedactor())
