"""A per-code-point class table for the compiled pre-tokenizer, built by asking ``regex`` itself.

The split patterns speak of Unicode classes (``\\p{L}``, ``\\p{N}``, ``\\s``, ...).  A compiled
scanner cannot call the ``regex`` module per character, so it looks each code point up in a
table: ``class_table()[cp]`` is a ``uint16`` whose bits say which classes ``cp`` belongs to.

Why ask ``regex`` and not :mod:`unicodedata`?  The two ship their own Unicode databases, and
their versions differ (here ``regex`` knows a newer Unicode than ``unicodedata``).  The fast
splitter must cut exactly where the ``regex`` reference cuts, so the table is made by running
``regex.findall(r"\\p{L}", every_code_point)`` and friends: whatever ``regex`` believes a letter
is, the table believes too.  Likewise ``\\s`` is the ``regex`` module's whitespace (25 code
points; not Python's ``str.isspace``, which also counts ``\\x1c``-``\\x1f``), and the
case-insensitive contraction letters are whatever ``(?i:s)`` matches (``s``, ``S`` and
``ſ`` U+017F LATIN SMALL LETTER LONG S).

Building takes a while (``benchmarks/bench_pretokenize.py`` reports how long), so the table is
built lazily on first use and cached on disk as a ``.npy`` file in ``$MINIGRAD_CACHE_DIR``, else
``$XDG_CACHE_HOME/minigrad``, else ``~/.cache/minigrad``; the file name carries the ``regex``
version and the layout version, so an upgrade of ``regex`` builds a fresh table.  The write is
atomic (``minigrad.atomic``); if the directory is not writable the table simply lives in memory.

Bit layout (``FLAG_*`` below): ``L``, ``N``, ``S`` (whitespace), ``CRLF`` (``\\r`` or ``\\n``),
``UPPER`` (o200k's ``[\\p{Lu}\\p{Lt}\\p{Lm}\\p{Lo}\\p{M}]``), ``LOWER`` (o200k's
``[\\p{Ll}\\p{Lm}\\p{Lo}\\p{M}]``), ``PUNCT`` (``[^\\s\\p{L}\\p{N}]``), ``PREFIX``
(``[^\\r\\n\\p{L}\\p{N}]``), and in bits 8-11 a code 1-8 for the contraction letters
``s d m t l v e r`` under case-insensitive matching (0 for any other code point).

What it leaves out: any class the built-in patterns do not use.
"""

from __future__ import annotations

import io
import os
import threading
from pathlib import Path

import numpy as np
import regex

from minigrad.atomic import atomic_write_bytes

#: Bump when the bit layout changes, so stale cache files are not read.
LAYOUT_VERSION = 1
#: One past the largest code point.
N_CODE_POINTS = 0x110000

FLAG_L = 1 << 0  # \p{L}
FLAG_N = 1 << 1  # \p{N}
FLAG_S = 1 << 2  # \s as the regex module defines it
FLAG_CRLF = 1 << 3  # \r or \n
FLAG_UPPER = 1 << 4  # [\p{Lu}\p{Lt}\p{Lm}\p{Lo}\p{M}]  (o200k)
FLAG_LOWER = 1 << 5  # [\p{Ll}\p{Lm}\p{Lo}\p{M}]  (o200k)
FLAG_PUNCT = 1 << 6  # [^\s\p{L}\p{N}]
FLAG_PREFIX = 1 << 7  # [^\r\n\p{L}\p{N}]
LETTER_SHIFT = 8  # bits 8..11: which contraction letter, case-insensitively (0 = none)
LETTER_MASK = 0xF << LETTER_SHIFT

#: The letters that occur in contractions ('s 't 're 've 'm 'll 'd), in code order 1..8.
CONTRACTION_LETTERS = "sdmtlver"
#: Their codes, for the scanners: code(ch) == CONTRACTION_LETTERS.index(ch.lower()) + 1.
CODE_S, CODE_D, CODE_M, CODE_T, CODE_L, CODE_V, CODE_E, CODE_R = range(1, 9)

_lock = threading.Lock()
_table: np.ndarray | None = None


def _members(pattern: str, everything: str) -> np.ndarray:
    """The code points (int64) that ``pattern`` matches, one character at a time."""
    hits = "".join(regex.findall(pattern, everything))
    return np.frombuffer(hits.encode("utf-32-le", "surrogatepass"), dtype=np.uint32).astype(
        np.int64
    )


def build_class_table() -> np.ndarray:
    """Build the table from scratch by querying ``regex``.

    >>> t = build_class_table()
    >>> bool(t[ord("a")] & FLAG_L), bool(t[ord(" ")] & FLAG_S), bool(t[0x1C] & FLAG_S)
    (True, True, False)
    """
    # Every code point, lone surrogates included: Python strs may hold them and regex classifies
    # them (category Cs: neither letter, number nor whitespace).
    everything = "".join(map(chr, range(N_CODE_POINTS)))
    table = np.zeros(N_CODE_POINTS, dtype=np.uint16)
    for pattern, flag in (
        (r"\p{L}", FLAG_L),
        (r"\p{N}", FLAG_N),
        (r"\s", FLAG_S),
        (r"[\r\n]", FLAG_CRLF),
        (r"[\p{Lu}\p{Lt}\p{Lm}\p{Lo}\p{M}]", FLAG_UPPER),
        (r"[\p{Ll}\p{Lm}\p{Lo}\p{M}]", FLAG_LOWER),
        (r"[^\s\p{L}\p{N}]", FLAG_PUNCT),
        (r"[^\r\n\p{L}\p{N}]", FLAG_PREFIX),
    ):
        table[_members(pattern, everything)] |= flag
    for code, letter in enumerate(CONTRACTION_LETTERS, start=1):
        table[_members(f"(?i:{letter})", everything)] |= code << LETTER_SHIFT
    return table


def cache_dir() -> Path:
    """Where the table is cached (see the module docstring for the order of precedence)."""
    explicit = os.environ.get("MINIGRAD_CACHE_DIR")
    if explicit:
        return Path(explicit)
    xdg = os.environ.get("XDG_CACHE_HOME")
    base = Path(xdg) if xdg else Path.home() / ".cache"
    return base / "minigrad"


def cache_path() -> Path:
    """The cache file for this ``regex`` version and table layout."""
    version = regex.__version__.replace(os.sep, "_")
    return cache_dir() / f"unicode_classes-regex{version}-v{LAYOUT_VERSION}.npy"


def read_cached(path: Path) -> np.ndarray | None:
    """The cached table, or None if absent or not a well-formed table."""
    try:
        table = np.load(path, allow_pickle=False)
    except (OSError, ValueError, EOFError):
        return None
    if table.dtype != np.uint16 or table.shape != (N_CODE_POINTS,):
        return None
    return table


def write_cached(path: Path, table: np.ndarray) -> None:
    """Write atomically; silently keep the table in memory only if that fails."""
    data = io.BytesIO()
    np.save(data, table, allow_pickle=False)
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        atomic_write_bytes(path, data.getvalue())
    except OSError:
        pass


def class_table() -> np.ndarray:
    """The class table (``uint16[0x110000]``): from memory, else the disk cache, else built.

    Thread-safe; the first call in a process costs a file read (or a build), later calls nothing.
    """
    global _table
    if _table is not None:
        return _table
    with _lock:
        if _table is None:
            path = cache_path()
            table = read_cached(path)
            if table is None:
                table = build_class_table()
                write_cached(path, table)
            table.setflags(write=False)
            _table = table
    return _table
