"""Folders that are replaced all at once: a reader sees the old folder or the new one, never a mix.

``minigrad/atomic.py`` makes one file all-or-nothing.  A training run writes several files that
belong together (weights, their config with the weights' checksum, tokenizer, optimizer state,
metrics, plots), and replacing them one by one leaves, between two renames, a folder whose
files come from two different runs.  So a run is written whole into a hidden sibling folder,
``.NAME.minigrad-new-XXXX`` next to ``NAME``, and then swapped in::

    with replacing_folder("runs/mine") as staging:   # a new, empty, private folder
        write every file into staging
    # here runs/mine is the new folder; the old one is gone

The swap is one system call on Linux (``renameat2`` with ``RENAME_EXCHANGE``) and macOS
(``renamex_np`` with ``RENAME_SWAP``): both names exist before and after, and they trade
places atomically, so at every instant ``NAME`` is one complete folder.  Where neither exists
(other systems, or a filesystem that does not support the exchange) the old folder is first
renamed aside and the new one renamed in: two renames, with a moment between them when
``NAME`` does not exist (the old folder is then still whole under ``.NAME.minigrad-old-XXXX``).

If anything fails or is interrupted before the swap, the staging folder is deleted and
``NAME`` is untouched.  Deliberately left out: locking against two programs writing the same
folder at once (the later swap wins, and each swap is still whole).
"""

from __future__ import annotations

import contextlib
import ctypes
import errno
import os
import shutil
import sys
import tempfile
from collections.abc import Iterator
from pathlib import Path

__all__ = ["check_can_replace", "replacing_folder", "swap_folders"]

_NEW, _OLD = ".minigrad-new-", ".minigrad-old-"


def _libc_exchange(a: Path, b: Path) -> bool:
    """Swap the names ``a`` and ``b`` in one system call; False when this system cannot."""
    try:
        libc = ctypes.CDLL(None, use_errno=True)
    except OSError:
        return False
    fa, fb = os.fsencode(a), os.fsencode(b)
    if sys.platform.startswith("linux") and hasattr(libc, "renameat2"):
        at_fdcwd, rename_exchange = -100, 2
        result = libc.renameat2(at_fdcwd, fa, at_fdcwd, fb, rename_exchange)
    elif sys.platform == "darwin" and hasattr(libc, "renamex_np"):
        rename_swap = 2
        result = libc.renamex_np(fa, fb, rename_swap)
    else:
        return False
    if result == 0:
        return True
    err = ctypes.get_errno()
    if err in (errno.ENOSYS, errno.EINVAL, errno.ENOTSUP, errno.EOPNOTSUPP):
        return False  # not supported here (old kernel, this filesystem): use two renames
    raise OSError(err, os.strerror(err), str(b))


def swap_folders(new: Path, target: Path) -> Path | None:
    """Put folder ``new`` at ``target``; return where the old ``target`` now is (None if none).

    ``new`` and ``target`` must be in the same folder (renames do not cross filesystems).
    """
    if not target.exists():
        os.replace(new, target)  # also replaces an empty folder at target, atomically
        return None
    if _libc_exchange(new, target):
        return new  # the old folder now lives under the staging name
    aside = Path(tempfile.mkdtemp(dir=target.parent, prefix=f".{target.name}{_OLD}"))
    os.replace(target, aside)  # (an empty folder made by mkdtemp may be replaced)
    try:
        os.replace(new, target)
    except BaseException:
        os.replace(aside, target)  # put the old one back
        raise
    return aside


def _fsync_dir(path: Path) -> None:
    try:
        fd = os.open(path, os.O_RDONLY)
    except OSError:
        return
    try:
        os.fsync(fd)
    except OSError:
        pass  # some filesystems cannot sync a directory; the data files were synced
    finally:
        os.close(fd)


def _default_dir_mode() -> int:
    umask = os.umask(0)
    os.umask(umask)
    return 0o777 & ~umask


def check_can_replace(target: Path) -> None:
    """Raise ``OSError`` now if :func:`replacing_folder` could not write ``target`` later.

    Creates ``target``'s parent folders if needed, then creates and removes a staging folder
    beside ``target`` (the swap needs to write there), and checks that an existing ``target``
    is a folder we may write into (to delete the old files once they are swapped out).
    """
    if target.exists() and not target.is_dir():
        raise NotADirectoryError(errno.ENOTDIR, "exists and is not a folder", str(target))
    target.parent.mkdir(parents=True, exist_ok=True)
    probe = tempfile.mkdtemp(dir=target.parent, prefix=f".{target.name}{_NEW}")
    os.rmdir(probe)
    if target.exists() and not os.access(target, os.W_OK | os.X_OK):
        raise PermissionError(errno.EACCES, "folder is not writable", str(target))


@contextlib.contextmanager
def replacing_folder(target: str | os.PathLike[str]) -> Iterator[Path]:
    """Yield an empty staging folder; when the block ends normally, it replaces ``target``.

    ``target`` is resolved first (a symbolic link to a folder: the folder it points to is
    replaced).  The new folder gets the old one's permission bits (or the umask's default).
    """
    target = Path(os.path.realpath(target))
    target.parent.mkdir(parents=True, exist_ok=True)
    staging = Path(tempfile.mkdtemp(dir=target.parent, prefix=f".{target.name}{_NEW}"))
    old: Path | None = None
    try:
        yield staging
        mode = target.stat().st_mode & 0o7777 if target.is_dir() else _default_dir_mode()
        os.chmod(staging, mode)
        _fsync_dir(staging)
        old = swap_folders(staging, target)
        _fsync_dir(target.parent)
    finally:
        if old is None and staging.exists():  # failed or interrupted before the swap
            shutil.rmtree(staging, ignore_errors=True)
    if old is not None:
        shutil.rmtree(old, ignore_errors=True)
