"""Counting distinct chunks as bytes, without one Python string per chunk.

The fast trainer needs each distinct chunk's UTF-8 bytes and its count.  The plain way,
``Counter(regex.findall(text))``, builds ~2.4 M Python strings for 10 MB of Python source, and
the regex alone runs at ~14 MB/s.  For the built-in patterns this module instead takes the chunk
bounds from the compiled scanner (``fast_pretokenize.utf8_chunk_bounds``) and counts the byte
slices in a numba hash table (a chunk of up to 7 bytes is its own exact key; longer ones are
hashed and compared), copying each distinct chunk once into a growing byte arena::

    >>> arena, start, length, count = count_chunk_bytes("hi hi hi", "gpt4", ())
    >>> [(arena[s : s + n].tobytes(), int(c)) for s, n, c in zip(start, length, count)]
    [(b'hi', 1), (b' hi', 2)]

Distinct chunks sit in the arena in order of first appearance, back to back, which is exactly the
flat word layout the merge loop wants.  The reference is ``_train_corpus.count_chunks`` (regex +
``Counter``); the tests check that both give the same counts.  Custom patterns and
``pattern=None`` take the reference path and are encoded afterwards.

What it leaves out: threads (a document's chunk bounds depend on what precedes them).
"""

from __future__ import annotations

import os
from collections.abc import Callable, Iterable

import numpy as np
from numba import njit

from minigrad.tokenizers.corpus import (
    BLOCK_CHARS,
    EMPTY_CORPUS,
    count_chunks,
    iter_segments,
)
from minigrad.tokenizers.fast.tables import _grow
from minigrad.tokenizers.pretokenize import resolve_pattern

_jit = njit(cache=True, nogil=True)
_HMASK = (1 << 42) - 1  # keeps h * 1000003 below 2**62: no overflow with or without the JIT
NENT, NBYTES = 0, 1


@_jit
def chunk_key(buf, s, e):
    """An int64 key for the bytes ``buf[s:e]``: exact for up to 7 bytes, a hash beyond.

    A short chunk packs its length (top byte) and its bytes into the key, so equal keys mean
    equal chunks and the table never has to compare bytes for it; most chunks are short.  A
    longer chunk gets top byte 8 and a polynomial hash, and equal keys are confirmed on the
    bytes.  Keys are never 0, which marks an empty slot.
    """
    m = e - s
    if m <= 7:
        k = np.int64(m) << 56
        for i in range(m):
            k |= np.int64(buf[s + i]) << (8 * i)
        return k
    h = 0
    for i in range(s, e):
        h = ((h * 1000003) + np.int64(buf[i]) + 1) & _HMASK
    return (np.int64(8) << 56) | (h ^ (h >> 21))


@_jit
def _home(key, mask):
    # both products stay below 2**62: no overflow, with or without the JIT
    h = (key >> 32) * 1540483477 + (key & 0xFFFFFFFF) * 668265263
    return (h ^ (h >> 29)) & mask


@_jit
def new_table():
    """An empty table: (arena, slot entry, slot key, start, length, key, count, scalars)."""
    return (
        np.empty(1 << 16, dtype=np.uint8),
        np.empty(1 << 12, dtype=np.int32),
        np.zeros(1 << 12, dtype=np.int64),
        np.empty(1 << 10, dtype=np.int64),
        np.empty(1 << 10, dtype=np.int64),
        np.empty(1 << 10, dtype=np.int64),
        np.empty(1 << 10, dtype=np.int64),
        np.zeros(2, dtype=np.int64),
    )


@_jit
def add_chunks(table, buf, bounds):
    """Count the chunks ``buf[bounds[j]:bounds[j + 1]]`` into ``table``; return the table."""
    arena, slots, slot_keys, start, length, keys, count, sc = table
    for j in range(len(bounds) - 1):
        s = bounds[j]
        e = bounds[j + 1]
        m = e - s
        key = chunk_key(buf, s, e)
        mask = len(slots) - 1
        i = _home(key, mask)
        t = -1
        while slot_keys[i] != 0:
            if slot_keys[i] == key:
                t = slots[i]
                if m <= 7:
                    break  # the key is the chunk
                if length[t] == m:
                    a = start[t]
                    q = 0
                    while q < m and arena[a + q] == buf[s + q]:
                        q += 1
                    if q == m:
                        break
                t = -1
            i = (i + 1) & mask
        if t != -1:
            count[t] += 1
            continue
        # a new distinct chunk: append its bytes to the arena
        t = sc[NENT]
        if t == len(start):
            start, length = _grow(start, t + 1), _grow(length, t + 1)
            keys, count = _grow(keys, t + 1), _grow(count, t + 1)
        if sc[NBYTES] + m > len(arena):
            arena = _grow(arena, sc[NBYTES] + m)
        a = sc[NBYTES]
        for q in range(m):
            arena[a + q] = buf[s + q]
        start[t] = a
        length[t] = m
        keys[t] = key
        count[t] = 1
        sc[NBYTES] += m
        sc[NENT] += 1
        slots[i] = t
        slot_keys[i] = key
        if 2 * sc[NENT] > len(slots):  # keep the load under one half
            slots = np.empty(4 * len(slots), dtype=np.int32)
            slot_keys = np.zeros(len(slots), dtype=np.int64)
            mask = len(slots) - 1
            for u in range(sc[NENT]):
                k = _home(keys[u], mask)
                while slot_keys[k] != 0:
                    k = (k + 1) & mask
                slots[k] = u
                slot_keys[k] = keys[u]
    return arena, slots, slot_keys, start, length, keys, count, sc


#: chunks per call of ``add_chunks``: a call stays short, so ``poll`` runs every few ms
CHUNKS_PER_CALL = 1 << 20


def count_chunk_bytes(
    corpus: str | os.PathLike | Iterable[str | os.PathLike],
    pattern: str | None,
    specials: tuple[str, ...],
    *,
    block_chars: int = BLOCK_CHARS,
    poll: Callable[[], None] | None = None,
) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """``(arena, start, length, count)``: distinct chunks as byte slices of ``arena``, in order
    of first appearance, with their counts.  Same chunks and counts as ``count_chunks``.

    ``poll`` is called between kernel calls (the trainer passes one that raises a deferred
    Ctrl-C: see ``_interrupt``)."""
    source = resolve_pattern(pattern)
    try:
        from minigrad.tokenizers.fast.pretokenize import pattern_name_of, supports
        from minigrad.tokenizers.fast.pretokenize import utf8_chunk_bounds as bounds_of
    except ImportError:  # pragma: no cover - the compiled pre-tokenizer is optional here
        supports = None
    if supports is None or not supports(source):
        counts = count_chunks(corpus, pattern, specials, block_chars=block_chars, poll=poll)
        encoded = [c.encode("utf-8") for c in counts]  # surrogates were replaced upstream
        length = np.fromiter(map(len, encoded), dtype=np.int64, count=len(encoded))
        start = np.zeros(len(encoded), dtype=np.int64)
        np.cumsum(length[:-1], out=start[1:])
        arena = np.frombuffer(b"".join(encoded), dtype=np.uint8)
        count = np.fromiter(counts.values(), dtype=np.int64, count=len(encoded))
        return arena, start, length, count
    name = pattern_name_of(source)
    table = new_table()
    for seg in iter_segments(corpus, source, specials, block_chars):
        data, bounds = bounds_of(seg, name)
        buf = np.frombuffer(data, dtype=np.uint8)
        for j in range(0, len(bounds) - 1, CHUNKS_PER_CALL):
            table = add_chunks(table, buf, bounds[j : j + CHUNKS_PER_CALL + 1])
            if poll is not None:
                poll()
    arena, _, _, start, length, _, count, sc = table
    n = int(sc[NENT])
    if n == 0:
        raise ValueError(EMPTY_CORPUS)
    return arena[: int(sc[NBYTES])], start[:n], length[:n], count[:n]
