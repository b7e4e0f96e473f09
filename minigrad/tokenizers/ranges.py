"""Cutting files into byte ranges that can be counted apart, with the same counts as whole.

To count a large file on several workers, each worker reads one byte range.  A range must begin
and end where no chunk of the split can run across: the *safe points* of ``corpus`` (just
before a space between two letters, or just after a line feed between a non-space and a
letter, and never inside a special token).  ``corpus`` streams a file cut at such points in one
process; here every cut is "the first safe point at or after ``k * blocksize`` bytes", found by
reading a small window of the file there, so the ranges are known before any worker starts and
do not depend on who reads what.  Counts add up, so the counts of all ranges together equal the
counts of the whole file, whichever safe points were picked (the tests check it against
single-process counting on generated files).

    >>> import pathlib, tempfile
    >>> p = pathlib.Path(tempfile.mkdtemp()) / "t.txt"
    >>> _ = p.write_text("one two three four five six", encoding="utf-8")
    >>> [(a, b) for _, a, b in file_ranges(p, 8, ())]
    [(0, 13), (13, 18), (18, 27)]

A file with no safe point after a nominal cut (one long line of digits, say) is one range from
there to its end.  With ``pattern=None`` (each file one chunk) a file is never cut.

What it leaves out: reading and counting the ranges (``read_range``, ``tokenizers.dask``).
"""

from __future__ import annotations

import codecs
import itertools
import os
from collections.abc import Iterator
from pathlib import Path

import regex

from minigrad.tokenizers.corpus import SAFE_CUT, _straddles

#: the safe points of ``corpus.SAFE_CUT``, searched forward
SAFE_CUT_FORWARD = regex.compile(r"(?<=\p{L})(?= \p{L})|(?<=\S\n)(?=\p{L})")
#: bytes read per try when looking for a safe point (doubled until one is found)
WINDOW = 1 << 16
#: a match this close to the end of a window is not trusted (its lookahead may be cut off)
_MARGIN = 16

Range = tuple[str, int, int]


def next_safe_point(f, pos: int, size: int, specials: tuple[str, ...]) -> int:
    """The byte offset of the first safe point at or after ``pos`` in the open binary file
    ``f`` of ``size`` bytes, or ``size`` when there is none."""
    if pos >= size:
        return size
    back = _MARGIN + 4 * max((len(s) for s in specials), default=0)
    start = max(0, pos - back)
    want = WINDOW
    while True:
        f.seek(start)
        data = f.read(pos - start + want)
        skip = 0
        while start + skip < pos and skip < len(data) and 0x80 <= data[skip] < 0xC0:
            skip += 1  # start on a character boundary
        at_end = start + len(data) >= size
        decoder = codecs.getincrementaldecoder("utf-8")("strict")
        try:
            text = decoder.decode(data[skip:], final=at_end)
        except UnicodeDecodeError as exc:
            raise ValueError(f"{f.name!r} is not valid UTF-8: {exc}") from None
        limit = len(data) - skip - (0 if at_end else _MARGIN)
        offset, last = skip, 0  # byte offset (from ``start``) of character ``last``
        for m in SAFE_CUT_FORWARD.finditer(text):
            i = m.start()
            offset += len(text[last:i].encode("utf-8"))
            last = i
            if offset - skip > limit:
                break
            if start + offset >= pos and not _straddles(text, i, specials):
                return start + offset
        if at_end:
            return size
        want *= 2


def file_ranges(path: str | os.PathLike, blocksize: int, specials: tuple[str, ...]) -> list[Range]:
    """``(path, start, end)`` byte ranges covering the file, each cut at a safe point near a
    multiple of ``blocksize``; empty ranges are left out."""
    if isinstance(blocksize, bool) or not isinstance(blocksize, int) or blocksize < 1:
        raise ValueError(f"blocksize must be a positive int, got {blocksize!r}")
    name = os.path.abspath(os.fspath(path))
    size = Path(name).stat().st_size
    cuts = [0]
    with open(name, "rb") as f:
        for nominal in range(blocksize, size, blocksize):
            cuts.append(max(cuts[-1], next_safe_point(f, nominal, size, specials)))
    cuts.append(size)
    return [(name, a, b) for a, b in itertools.pairwise(cuts) if b > a]


def text_pieces(text: str, piece_chars: int, specials: tuple[str, ...]) -> Iterator[str]:
    """``text`` in pieces of about ``piece_chars`` characters, cut only at safe points (so the
    pieces count like the whole).  Counting a few hundred kilobytes at a time keeps the
    counter's arrays in cache, which a 32 MB string would not."""
    pos, n = 0, len(text)
    while n - pos > piece_chars:
        cut = -1
        for m in SAFE_CUT.finditer(text, pos + 1, pos + piece_chars):  # the last safe point
            if not _straddles(text, m.start(), specials):
                cut = m.start()
                break
        if cut <= pos:
            cut = next(
                (m.start() for m in SAFE_CUT_FORWARD.finditer(text, pos + piece_chars)
                 if not _straddles(text, m.start(), specials)),
                n,
            )  # fmt: skip
        yield text[pos:cut]
        pos = cut
    if pos < n:
        yield text[pos:]


def read_range(rng: Range) -> str:
    """The text of one range (``ValueError`` naming the file if it is not UTF-8)."""
    name, a, b = rng
    with open(name, "rb") as f:
        f.seek(a)
        data = f.read(b - a)
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise ValueError(f"{name!r} is not valid UTF-8: {exc}") from None
