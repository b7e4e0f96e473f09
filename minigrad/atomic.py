"""Saved files are never half-written: write a temporary file beside the target, then rename.

``os.replace`` is atomic on POSIX and Windows when both names are on one filesystem (the
temporary file is created in the target's folder for that reason), so a reader sees either the
old file or the whole new one, never a truncated mix, even if the writer crashes or is
interrupted with Ctrl-C halfway through.

Permissions: the file ends up with the mode a plain ``open(path, "w")`` would give it, i.e.
``0o666`` less the umask (``0644`` under the usual umask ``022``), because the temporary file is
created with ``os.open(..., 0o666)`` and the kernel applies the umask (and any default ACL of
the folder) exactly as it does for ``open``.  ``tempfile.mkstemp`` would give ``0600`` whatever
the umask.  Replacing an existing file keeps that file's permission bits instead.
"""

from __future__ import annotations

import os
import secrets
import stat
from pathlib import Path

_FLAGS = os.O_WRONLY | os.O_CREAT | os.O_EXCL | getattr(os, "O_BINARY", 0)


def _create_temporary(path: Path) -> tuple[int, Path]:
    """A new, empty file beside ``path`` (a random hidden name), opened for writing."""
    for _ in range(100):
        tmp = path.with_name(f".{path.name}.{secrets.token_hex(6)}.tmp")
        try:
            return os.open(tmp, _FLAGS, 0o666), tmp
        except FileExistsError:
            continue
    raise FileExistsError(f"cannot create a temporary file beside {str(path)!r}")


def atomic_write_bytes(path: str | os.PathLike[str], data: bytes) -> Path:
    """Write ``data`` to ``path`` all or nothing; returns the path."""
    path = Path(path)
    try:
        keep_mode: int | None = stat.S_IMODE(os.stat(path).st_mode)
    except (FileNotFoundError, NotADirectoryError):
        keep_mode = None
    fd, tmp = _create_temporary(path)
    try:
        with os.fdopen(fd, "wb") as f:
            if keep_mode is not None and hasattr(os, "fchmod"):
                os.fchmod(f.fileno(), keep_mode)
            f.write(data)
            f.flush()
            os.fsync(f.fileno())
        os.replace(tmp, path)
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise
    return path


def atomic_write_text(path: str | os.PathLike[str], text: str) -> Path:
    """Write ``text`` as UTF-8 with ``\\n`` line ends to ``path``, all or nothing."""
    return atomic_write_bytes(path, text.encode("utf-8"))
