"""A per-code-point class table for the compiled pre-tokenizer, pinned to tiktoken's Unicode.

The split patterns speak of Unicode classes (``\\p{L}``, ``\\p{N}``, ``\\s``, ...).  A compiled
scanner cannot call the ``regex`` module per character, so it looks each code point up in a
table: ``class_table()[cp]`` is a ``uint16`` whose bits say which classes ``cp`` belongs to.

Which Unicode?  tiktoken's (16.0.0), not the installed ``regex`` module's nor
:mod:`unicodedata`'s, which differ from it and from each other: the members of every class come
from the data file of :mod:`minigrad.tokenizers.unicode_pinned`, which the reference path
(``regex`` with the patterns' classes corrected to the same data) reads too, and which the tests
compare with tiktoken on every code point.  ``\\s`` is White_Space (25 code points; not
Python's ``str.isspace``, which also counts ``\\x1c``-``\\x1f``), and the case-insensitive
contraction letters are what ``(?i:s)`` matches (``s``, ``S`` and ``ſ`` U+017F LATIN SMALL
LETTER LONG S).

Building takes a few hundredths of a second; the table is built lazily on first use and cached
on disk as a ``.npy`` file in ``$MINIGRAD_CACHE_DIR``, else ``$XDG_CACHE_HOME/minigrad``, else
``~/.cache/minigrad``; the file name carries the Unicode version, a digest of the data file and
the layout version, so other data builds a fresh table (and older minigrads, whose tables came
from ``regex`` under another name, never read this one).  The write is atomic (temporary file,
``minigrad.atomic``); if the directory is not writable the table simply lives in memory.

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

from minigrad.atomic import atomic_write_bytes
from minigrad.tokenizers import unicode_pinned

#: Bump when the bit layout or the way the table is made changes, so stale cache files are not read.
LAYOUT_VERSION = 2
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
CONTRACTION_LETTERS = unicode_pinned.CONTRACTION_LETTERS
#: Their codes, for the scanners: code(ch) == CONTRACTION_LETTERS.index(ch.lower()) + 1.
CODE_S, CODE_D, CODE_M, CODE_T, CODE_L, CODE_V, CODE_E, CODE_R = range(1, 9)

_lock = threading.Lock()
_table: np.ndarray | None = None


def build_class_table() -> np.ndarray:
    """Build the table from the pinned Unicode data (``unicode_pinned.mask``).

    >>> t = build_class_table()
    >>> bool(t[ord("a")] & FLAG_L), bool(t[ord(" ")] & FLAG_S), bool(t[0x1C] & FLAG_S)
    (True, True, False)
    >>> bool(t[0x0558] & FLAG_L)  # a letter in Unicode 17, unassigned in tiktoken's 16.0
    False
    """
    m = unicode_pinned.mask
    letter, number, space = m("L"), m("N"), m("s")
    crlf = np.zeros(N_CODE_POINTS, dtype=bool)
    crlf[[ord("\r"), ord("\n")]] = True
    marks = m("M")
    table = np.zeros(N_CODE_POINTS, dtype=np.uint16)
    for members, flag in (
        (letter, FLAG_L),
        (number, FLAG_N),
        (space, FLAG_S),
        (crlf, FLAG_CRLF),
        (m("Lu") | m("Lt") | m("Lm") | m("Lo") | marks, FLAG_UPPER),
        (m("Ll") | m("Lm") | m("Lo") | marks, FLAG_LOWER),
        (~(space | letter | number), FLAG_PUNCT),
        (~(crlf | letter | number), FLAG_PREFIX),
    ):
        table[members] |= flag
    for code, letter_name in enumerate(CONTRACTION_LETTERS, start=1):
        table[m(f"CI_{letter_name}")] |= code << LETTER_SHIFT
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
    """The cache file for this Unicode data and table layout."""
    version = unicode_pinned.UNICODE_VERSION
    digest = unicode_pinned.data_digest()
    return cache_dir() / f"unicode_classes-ucd{version}-{digest}-v{LAYOUT_VERSION}.npy"


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
