"""What a message, a log line or the terminal may show of a database URI: never its password.

Below every domain (next to ``kam_ml.errors``), because both the data sources and the
actions store name the URIs they were given, and sibling domains never import each other.
"""

from __future__ import annotations

import re
from pathlib import Path

__all__ = ["hide_passwords"]

# scheme://user:password@host: the password, up to the last "@" of the URI (a password
# with "/" or "@" unencoded is still hidden whole)
_PASSWORD = re.compile(r"(?P<head>[a-z][\w+.-]*://[^:/@\s]*:)(?P<password>\S*)@", re.I)


def hide_passwords(text: str | Path) -> str:
    """``text`` with the password of every URI in it shown as ``***``
    (``postgresql://kam:***@db/book``). A folder, or a URI without a password, is unchanged."""
    return _PASSWORD.sub(lambda m: f"{m.group('head')}***@", str(text))
