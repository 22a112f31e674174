"""A pickle that runs code when it is loaded: it writes a marker file, as an attacker's would.

Tests plant it where a model file should be and assert the marker never appears: loading
must refuse the file *before* unpickling it.
"""

from __future__ import annotations

import pickle
from pathlib import Path

__all__ = ["plant_malicious_pickle"]


class _WritesMarker:
    def __init__(self, marker: Path) -> None:
        self.marker = marker

    def __reduce__(self) -> tuple[object, tuple[str]]:
        marker = str(self.marker)
        code = f"import pathlib; pathlib.Path({marker!r}).write_text('code ran at model load')"
        return (exec, (code,))


def plant_malicious_pickle(path: Path, marker: Path) -> None:
    """Replace ``path`` by a pickle (readable by pickle, cloudpickle and joblib) that writes
    ``marker`` when loaded."""
    path.write_bytes(pickle.dumps(_WritesMarker(marker)))
