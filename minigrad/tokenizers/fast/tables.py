"""Hash tables on plain arrays, shared by the compiled encoder and trainer.

Two tables and one hash mixer (:func:`mix`), both open addressing with linear probing at a load
of at most one half, so that a probe soon meets a free slot:

* **int64 keys** (:func:`find`, :func:`lookup`, :func:`int_table`).  A pair of token ids is one
  key ``a << 32 | b`` (:func:`pair_key`), ordered like the tuple ``(a, b)``.  The trainer maps
  pair keys to pair indices, the encoder maps them to the id of the merged token;
* **byte strings** (:class:`ByteTable`, :func:`add_chunks`).  Each distinct string is copied
  once into an arena, in order of first appearance, and counted.  It counts the chunks of a
  training corpus, finds the distinct chunks of a text to encode, and gives a new token's bytes
  their id while training.  A string of up to 7 bytes is its own key (:func:`bytes_key`), so
  most lookups never compare bytes; a longer one is hashed and confirmed byte by byte, so a
  collision costs time, never correctness::

    >>> table, which = add_chunks(new_byte_table(), np.frombuffer(b"abab", np.uint8),
    ...                           np.array([0, 2, 4]))
    >>> entry_bytes(table), which.tolist(), table.count[:2].tolist()
    ([b'ab'], [0, 0], [2, 0])

A byte table that is full is replaced by a larger copy (``grown``) between runs of the hot loop,
so that loop never passes the table around.  Loops stand where slice assignment would
(``copy``): in numba, slicing costs seconds of compile time.  No product exceeds 2**62, so
everything gives the same results as plain Python under ``NUMBA_DISABLE_JIT=1``.
"""

from __future__ import annotations

from typing import NamedTuple

import numpy as np
from numba import njit

_jit = njit(cache=True, nogil=True)
_inline = njit(cache=True, nogil=True, inline="always")
_HASH_MASK = (1 << 42) - 1  # keeps h * 1000003 below 2**62


@_inline
def mix(key, mask):
    """The slot of an int64 ``key`` in a table of ``mask + 1`` slots: the one hash mixer.

    The two 32-bit halves are multiplied by large odd constants and the high bits folded down,
    so keys that differ in a few low bits (consecutive ids, short strings) spread apart.
    """
    h = (key >> 32) * 1540483477 + (key & 0xFFFFFFFF) * 668265263
    return (h ^ (h >> 29)) & mask


@_inline
def pair_key(a, b):
    """``(a, b)`` as one int64, ordered like the tuple: ``a << 32 | b``."""
    return (np.int64(a) << 32) | np.int64(b)


@_inline
def find(keys, key):
    """The slot of ``key`` in ``keys`` (free slots hold -1), or the free slot where it would go."""
    mask = len(keys) - 1
    i = mix(key, mask)
    while keys[i] != key and keys[i] != -1:
        i = (i + 1) & mask
    return i


@_inline
def lookup(keys, values, key):
    """The value stored under ``key``, or -1."""
    i = find(keys, key)
    return values[i] if keys[i] == key else -1


@_jit
def int_table(keys_in, values_in, n, cap):
    """A table of ``cap`` slots (a power of two, at least ``2 * n``) holding
    ``keys_in[i] -> values_in[i]`` for ``i < n``: ``(keys, values)``."""
    keys = np.full(cap, -1, dtype=np.int64)
    values = np.empty(cap, dtype=values_in.dtype)
    for i in range(n):
        slot = find(keys, keys_in[i])
        keys[slot] = keys_in[i]
        values[slot] = values_in[i]
    return keys, values


@_jit
def grow(x, n):
    """``x`` if it holds ``n`` elements, else a copy with room for them (doubling)."""
    if len(x) >= n:
        return x
    cap = max(len(x), 16)
    while cap < n:
        cap *= 2
    out = np.empty(cap, dtype=x.dtype)
    copy(out, 0, x, 0, len(x))
    return out


@_jit
def copy(dst, d0, src, s0, n):
    """``dst[d0:d0+n] = src[s0:s0+n]``, as a loop."""
    for i in range(n):
        dst[d0 + i] = src[s0 + i]


# ---- byte strings ------------------------------------------------------------------------------
class ByteTable(NamedTuple):
    """Distinct byte strings: entry ``t`` is ``arena[start[t]:start[t] + length[t]]``, added
    ``count[t]`` times; ``size`` holds ``[entries, arena bytes used]``."""

    arena: np.ndarray  # uint8: the strings back to back, in order of first appearance
    start: np.ndarray  # int64, per entry
    length: np.ndarray  # int64, per entry
    key: np.ndarray  # int64, per entry: its bytes_key (for rehashing)
    count: np.ndarray  # int64, per entry
    slot_entry: np.ndarray  # int32, per slot: the entry stored there
    slot_key: np.ndarray  # int64, per slot: that entry's key, 0 for a free slot
    size: np.ndarray  # int64[2]


@_jit
def new_byte_table(entries=1 << 10):
    """An empty :class:`ByteTable` with room for ``entries`` (rounded up to a power of two)."""
    n = 1
    while n < entries:
        n *= 2
    return ByteTable(
        np.empty(16 * n, dtype=np.uint8),
        np.empty(n, dtype=np.int64),
        np.empty(n, dtype=np.int64),
        np.empty(n, dtype=np.int64),
        np.empty(n, dtype=np.int64),
        np.empty(2 * n, dtype=np.int32),  # a power of two: slots are found by masking
        np.zeros(2 * n, dtype=np.int64),
        np.zeros(2, dtype=np.int64),
    )


@_inline
def bytes_key(buf, s, e):
    """A non-zero int64 key for the bytes ``buf[s:e]``: the bytes themselves up to 7 of them.

    A short string packs its length plus one (top byte) and its bytes into the key, so equal
    keys mean equal strings.  A longer one gets top byte 9 and a polynomial hash.
    """
    m = e - s
    if m <= 7:
        k = np.int64(m + 1) << 56
        for i in range(m):
            k |= np.int64(buf[s + i]) << (8 * i)
        return k
    h = 0
    for i in range(s, e):
        h = (h * 1000003 + np.int64(buf[i]) + 1) & _HASH_MASK
    return (np.int64(9) << 56) | (h ^ (h >> 21))


@_jit
def grown(table, m):
    """``table`` with room for one more entry of ``m`` bytes: its full arrays replaced by larger
    copies, the slots rehashed if they grew."""
    n = table.size[0]
    key = grow(table.key, n + 1)
    slot_entry, slot_key = table.slot_entry, table.slot_key
    if 2 * (n + 1) > len(slot_key):
        slot_entry = np.empty(4 * len(slot_key), dtype=np.int32)
        slot_key = np.zeros(len(slot_entry), dtype=np.int64)
        mask = len(slot_key) - 1
        for t in range(n):
            i = mix(key[t], mask)
            while slot_key[i] != 0:
                i = (i + 1) & mask
            slot_entry[i] = t
            slot_key[i] = key[t]
    return ByteTable(
        grow(table.arena, table.size[1] + m),
        grow(table.start, n + 1),
        grow(table.length, n + 1),
        key,
        grow(table.count, n + 1),
        slot_entry,
        slot_key,
        table.size,
    )


@_jit
def add_chunks(table, buf, bounds):
    """Add the chunks ``buf[bounds[j]:bounds[j + 1]]`` to ``table``, counting them.

    Returns ``(table, which)``: chunk ``j`` is entry ``which[j]``, new chunks becoming new
    entries in order; ``table`` is a grown copy if it had to grow.
    """
    which = np.empty(len(bounds) - 1, dtype=np.int64)
    j = _add_while_room(table, buf, bounds, which, 0)
    while j < len(bounds) - 1:
        table = grown(table, bounds[j + 1] - bounds[j])
        j = _add_while_room(table, buf, bounds, which, j)
    return table, which


@_jit
def _add_while_room(table, buf, bounds, which, j):
    """``add_chunks`` from chunk ``j`` on, until the table is full; returns where it stopped.

    One function with the table's arrays as local names: this is the hot loop, and a call per
    chunk, or reading the arrays as attributes on every access, costs more than the lookup.
    """
    arena, start, length, key, count, slot_entry, slot_key, size = table
    mask = len(slot_key) - 1
    while j < len(bounds) - 1:
        s = bounds[j]
        e = bounds[j + 1]
        m = e - s
        n = size[0]
        if n == len(start) or size[1] + m > len(arena) or 2 * (n + 1) > len(slot_key):
            break  # full: the caller grows the table
        k = bytes_key(buf, s, e)
        i = mix(k, mask)
        t = -1
        while slot_key[i] != 0:
            if slot_key[i] == k:
                t = slot_entry[i]
                if m <= 7:
                    break  # the key is the string
                if length[t] == m:
                    q = 0
                    while q < m and arena[start[t] + q] == buf[s + q]:
                        q += 1
                    if q == m:
                        break  # same bytes
                t = -1
            i = (i + 1) & mask
        if t == -1:  # a new entry: its bytes go to the end of the arena
            t = n
            copy(arena, size[1], buf, s, m)
            start[t] = size[1]
            length[t] = m
            key[t] = k
            count[t] = 0
            size[0] = n + 1
            size[1] += m
            slot_entry[i] = t
            slot_key[i] = k
        count[t] += 1
        which[j] = t
        j += 1
    return j


def entry_bytes(table: ByteTable) -> list[bytes]:
    """Every entry's bytes, in entry order."""
    data = table.arena[: table.size[1]].tobytes()
    n = int(table.size[0])
    return [data[s : s + m] for s, m in zip(table.start[:n].tolist(), table.length[:n].tolist())]
