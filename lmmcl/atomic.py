"""The one atomic-write helper: a reader never sees a half-written file."""

from __future__ import annotations

import os
import tempfile
from pathlib import Path

from lmmcl.faults import kill_point


def atomic_write(path: str | Path, data: str | bytes) -> None:
    """Write ``data`` (text or bytes) to ``path`` through a temporary file renamed over it."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=path.name + ".", dir=path.parent)
    try:
        with os.fdopen(fd, "wb" if isinstance(data, bytes) else "w") as f:
            f.write(data)
        kill_point("report_write")  # tests: killed here, only the temporary file is half-done (lmmcl.faults)
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
