"""The benchmark corpus: the Python standard library's own source, reproducibly.

``stdlib_corpus(n)`` concatenates the ``.py`` files under ``sysconfig.get_paths()["stdlib"]``
(recursively, in sorted path order, read as UTF-8 with undecodable bytes replaced) and returns
the first ``n`` bytes' worth of text.  Real text that nobody here wrote, present on every machine
with Python; the exact contents depend on the Python version, which every result records.

    >>> len(stdlib_corpus(1000).encode("utf-8")) <= 1000
    True

What it leaves out: ``site-packages`` (third-party code differs between machines).
"""

from __future__ import annotations

import sysconfig
from functools import lru_cache
from pathlib import Path


def stdlib_files() -> list[Path]:
    """All ``.py`` files of the standard library, sorted, excluding ``site-packages``."""
    return list(_stdlib_files())


@lru_cache(maxsize=1)
def _stdlib_files() -> tuple[Path, ...]:
    # walked once per process: the walk takes longer than reading the first megabyte
    root = Path(sysconfig.get_paths()["stdlib"])
    return tuple(
        sorted(p for p in root.rglob("*.py") if "site-packages" not in p.parts and p.is_file())
    )


def stdlib_documents(n_bytes: int) -> list[str]:
    """The same text as ``stdlib_corpus(n_bytes)``, one string per source file (the last one cut).

    ``"".join(stdlib_documents(n)) == stdlib_corpus(n)``.
    """
    text = stdlib_corpus(n_bytes)
    docs: list[str] = []
    pos = 0
    for path in stdlib_files():
        if pos >= len(text):
            break
        size = len(path.read_bytes().decode("utf-8", errors="replace"))
        docs.append(text[pos : pos + size])
        pos += size
    return docs


@lru_cache(maxsize=8)
def stdlib_corpus(n_bytes: int) -> str:
    """The first ``n_bytes`` of the concatenated standard-library sources, as text.

    The cut falls on a character boundary, so the UTF-8 size is at most ``n_bytes`` (a few
    bytes less when a multi-byte character straddles the limit).
    """
    if not isinstance(n_bytes, int) or n_bytes < 0:
        raise ValueError(f"n_bytes must be a non-negative int, got {n_bytes!r}")
    parts: list[bytes] = []
    total = 0
    for path in stdlib_files():
        if total >= n_bytes:
            break
        try:
            text = path.read_bytes().decode("utf-8", errors="replace")
        except OSError:
            continue
        data = text.encode("utf-8")
        parts.append(data)
        total += len(data)
    return b"".join(parts)[:n_bytes].decode("utf-8", errors="ignore")
