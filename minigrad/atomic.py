"""Saved files are never half-written: write a temporary file beside the target, then rename.

``os.replace`` is atomic on POSIX and Windows when both names are on one filesystem (the
temporary file is created in the target's folder for that reason), so a reader sees either the
old file or the whole new one, never a truncated mix, even if the writer crashes or is
interrupted with Ctrl-C halfway through.
"""

from __future__ import annotations

import os
import tempfile
from pathlib import Path


def atomic_write_bytes(path: str | os.PathLike[str], data: bytes) -> Path:
    """Write ``data`` to ``path`` all or nothing; returns the path."""
    path = Path(path)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    try:
        with os.fdopen(fd, "wb") as f:
            f.write(data)
            f.flush()
            os.fsync(f.fileno())
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
    return path


def atomic_write_text(path: str | os.PathLike[str], text: str) -> Path:
    """Write ``text`` as UTF-8 with ``\\n`` line ends to ``path``, all or nothing."""
    return atomic_write_bytes(path, text.encode("utf-8"))
