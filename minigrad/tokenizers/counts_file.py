"""The chunk-counts file: a compact binary table, checked on every load.

Counting a large corpus is the expensive half of BPE training, so its result is worth keeping:
``minigrad tokenizer count FILES -o counts.bin`` (or ``ChunkCounts.save``) writes one, and
``minigrad tokenizer train --counts counts.bin`` (or ``ChunkCounts.load``) trains from it.

Layout (all integers little-endian)::

    offset  size  field
    0       8     magic b"MGCOUNTS"
    8       4     version, uint32 (1)
    12      4     flags, uint32: bit 0 set = no split pattern (pattern=None)
    16      8     n, uint64: distinct chunks
    24      8     m, uint64: bytes of all chunks together
    32      4     p, uint32: bytes of the pattern
    36      4     CRC-32 (zlib) of everything after the header (bytes 40 to the end)
    40      p     the pattern, UTF-8: a built-in name ("gpt4") or a regex; empty if bit 0 is set
    40+p    4n    each chunk's length in bytes, uint32
    ...     8n    each chunk's count, int64 (> 0)
    ...     m     the chunks' bytes, back to back in the order of the lengths

A 40-byte header, then 12 bytes per distinct chunk plus the chunks themselves.  The file's size
must be exactly ``40 + p + 12 n + m``: a truncated or padded file is refused before anything is
read, a flipped bit is caught by the CRC, and the table itself is checked (lengths add up to
``m``, counts positive, chunks distinct).  Writes are atomic (``minigrad.atomic``), and an
existing file is kept unless the caller asks to overwrite it.
"""

from __future__ import annotations

import os
import struct
import zlib
from pathlib import Path

import numpy as np

from minigrad.atomic import atomic_write_bytes

MAGIC = b"MGCOUNTS"
VERSION = 1
HEADER = struct.Struct("<8sIIQQII")  # magic, version, flags, n, m, p, crc
_NO_PATTERN = 1


Table = tuple[str | None, np.ndarray, np.ndarray, np.ndarray]  # pattern, arena, length, count


def encode_counts(
    pattern: str | None, arena: np.ndarray, length: np.ndarray, count: np.ndarray
) -> bytes:
    """The bytes of a counts file (layout in the module docstring) for distinct chunks laid
    back to back in ``arena`` with their lengths and counts."""
    if len(length) and int(length.max()) >= 2**32:
        raise ValueError("a chunk is 4 GiB or longer; the counts file stores lengths as uint32")
    pat = b"" if pattern is None else pattern.encode("utf-8")
    body = b"".join(
        [
            pat,
            length.astype("<u4").tobytes(),
            count.astype("<i8").tobytes(),
            arena.tobytes(),
        ]
    )
    flags = _NO_PATTERN if pattern is None else 0
    header = HEADER.pack(MAGIC, VERSION, flags, len(length), len(arena), len(pat), zlib.crc32(body))
    return header + body


def decode_counts(data: bytes, source: str = "<bytes>") -> Table:
    """``(pattern, arena, length, count)`` from a counts file's bytes, checked (lengths add up,
    chunks non-empty, counts positive); ``ValueError`` naming ``source`` if damaged.  That the
    chunks are distinct is checked by ``ChunkCounts.from_bytes``, which builds the table."""

    def bad(why: str) -> ValueError:
        return ValueError(f"{source}: not a valid chunk-counts file: {why}")

    if len(data) < HEADER.size:
        if not MAGIC.startswith(data[:8]) or not data:
            raise bad("it does not start with the magic bytes b'MGCOUNTS'")
        raise bad(f"truncated: {len(data)} bytes, shorter than the {HEADER.size}-byte header")
    magic, version, flags, n, m, p, crc = HEADER.unpack_from(data)
    if magic != MAGIC:
        raise bad(f"it starts with {magic!r}, not the magic bytes {MAGIC!r}")
    if version != VERSION:
        raise bad(f"format version {version}; this minigrad reads version {VERSION}")
    if flags & ~_NO_PATTERN:
        raise bad(f"unknown flags {flags:#x}")
    want = HEADER.size + p + 12 * n + m
    if len(data) != want:
        what = "truncated" if len(data) < want else "has extra bytes"
        raise bad(f"{what}: the header promises {want} bytes, the file holds {len(data)}")
    body = memoryview(data)[HEADER.size :]
    if zlib.crc32(body) != crc:
        raise bad("the checksum does not match (the file is damaged)")
    try:
        pattern = None if flags & _NO_PATTERN else bytes(body[:p]).decode("utf-8")
    except UnicodeDecodeError:
        raise bad("the pattern is not UTF-8") from None
    if pattern is None and p:
        raise bad("flagged as having no pattern, yet a pattern is stored")
    off = p
    length = np.frombuffer(body, dtype="<u4", count=n, offset=off).astype(np.int64)
    off += 4 * n
    count = np.frombuffer(body, dtype="<i8", count=n, offset=off).astype(np.int64)
    off += 8 * n
    arena = np.frombuffer(body, dtype=np.uint8, count=m, offset=off).copy()
    if n and int(count.min()) <= 0:
        raise bad(f"a count is {int(count.min())}; counts are positive")
    if n and int(length.min()) <= 0:
        raise bad("a chunk is empty: every chunk holds at least one byte")
    if int(length.sum()) != m:
        raise bad(f"the chunk lengths add up to {int(length.sum())} bytes, not {m}")
    return pattern, arena, length, count


def save_counts(data: bytes, path: str | os.PathLike[str], *, overwrite: bool = False) -> None:
    """Write a counts file's bytes to ``path`` atomically; refuse an existing file unless
    ``overwrite``."""
    path = Path(path)
    if not overwrite and path.exists():
        raise FileExistsError(
            f"{str(path)!r} exists; pass overwrite=True (CLI: --force) to replace it"
        )
    if not path.parent.is_dir():
        raise FileNotFoundError(f"folder does not exist: {str(path.parent)!r}")
    atomic_write_bytes(path, data)
