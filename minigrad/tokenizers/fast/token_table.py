"""The token table of the compiled encoder: each token's bytes -> its rank, in fixed arrays.

A chunk that is a token is that token (tiktoken's shortcut, part of its rule), so the encoder
looks every new chunk up here before merging.  Open addressing with linear probing at a load of
at most one half over two int64 keys per string (``chunk_keys``): up to 14 bytes the keys *are*
the bytes, so equal keys mean equal strings; a longer token gets two hashes and is confirmed
byte by byte against its copy in the arena.  A slot is 32 bytes, two to a cache line.  The
table is sized for every token when built (``new_token_table``, ``build_token_map``), so it
never fills.  The reference is the ``dict`` ``mergeable_ranks``; ``fast.chunk_encoder`` uses it
and the tests compare the ids with tiktoken's.
"""

from __future__ import annotations

from typing import NamedTuple

import numpy as np
from numba import njit

from minigrad.tokenizers.fast.tables import _HASH_MASK, mix

_jit = njit(cache=True, nogil=True)
_inline = njit(cache=True, nogil=True, inline="always")


class TokenTable(NamedTuple):
    """Byte strings -> ids in fixed arrays (see ``table_find``): each token -> its rank."""

    slots: np.ndarray  # int64 (slots, 4): k0, k1, value, arena offset; k1 == 0: free
    arena: np.ndarray  # uint8: bytes of chunks longer than 14 bytes (to confirm a hash hit)
    ids: np.ndarray  # int32: [count, ids...] of chunks whose ids do not fit one int64
    meta: np.ndarray  # int64[3]: entries, arena bytes used, ids used


def new_token_table(entries: int, arena_bytes: int) -> TokenTable:
    """An empty table with room for ``entries`` strings of ``arena_bytes`` bytes in all."""
    slots = 16
    while slots < 2 * entries:
        slots *= 2
    return TokenTable(
        np.zeros((slots, 4), np.int64),
        np.zeros(max(arena_bytes, 1), np.uint8),
        np.zeros(4 * entries, np.int32),
        np.zeros(3, np.int64),
    )


# A token-table slot is 32 bytes, two to a cache line: keys, the id packed as
# ``1 | id << 2`` (``_TOKEN_BITS``), and where the bytes of a token over 14 bytes are.
_TOKEN_BITS = 20
_TOKEN_MASK = (1 << _TOKEN_BITS) - 1


@_inline
def chunk_keys(buf, s, e):
    """Two int64 keys for ``buf[s:e]``: up to 14 bytes they *are* the bytes (k0: bytes 0-6,
    k1: bytes 7-13, and the length in k1's top byte), so equal keys mean equal chunks; longer
    chunks get two hashes and are confirmed byte by byte."""
    n = e - s
    k0 = np.int64(0)
    k1 = np.int64(n) << 56
    if n <= 14:
        for q in range(min(n, 7)):
            k0 |= np.int64(buf[s + q]) << (8 * q)
        for q in range(7, n):
            k1 |= np.int64(buf[s + q]) << (8 * (q - 7))
    else:
        h0 = np.int64(0)
        h1 = np.int64(0)
        for q in range(s, e):
            b = np.int64(buf[q]) + 1
            h0 = (h0 * 1000003 + b) & _HASH_MASK
            h1 = (h1 * 999983 + b) & _HASH_MASK
        k0 = h0
        k1 |= h1
    return k0, k1


@_inline
def table_find(c, buf, s, e, k0, k1):
    """The slot holding ``buf[s:e]`` (keys ``k0, k1``), or ``-(slot + 1)`` of the free slot
    where it would go."""
    mask = c.slots.shape[0] - 1
    i = (mix(k0, mask) ^ mix(k1 ^ (k1 >> 31), mask)) & mask
    n = e - s
    while True:
        sk1 = c.slots[i, 1]
        if sk1 == 0:
            return -(i + 1)
        if sk1 == k1 and c.slots[i, 0] == k0:
            if n <= 14:
                return i
            a = c.slots[i, 3]
            q = 0
            while q < n and c.arena[a + q] == buf[s + q]:
                q += 1
            if q == n:
                return i
        i = (i + 1) & mask


@_inline
def table_copy(c, i, out, p):
    """Write the ids of slot ``i`` to ``out[p:]``; returns how many."""
    v = c.slots[i, 2]
    if v >= 0:
        nv = v & 3
        out[p] = (v >> 2) & _TOKEN_MASK
        if nv > 1:
            out[p + 1] = (v >> (2 + _TOKEN_BITS)) & _TOKEN_MASK
            if nv > 2:
                out[p + 2] = (v >> (2 + 2 * _TOKEN_BITS)) & _TOKEN_MASK
        return nv
    a = -v - 1
    nv = c.ids[a]
    for q in range(nv):
        out[p + q] = c.ids[a + 1 + q]
    return nv


@_inline
def table_insert(c, buf, s, e, k0, k1, slot, vals, v0, nv):
    """Add ``buf[s:e] -> vals[v0:v0 + nv]`` at free ``slot`` (the caller looked the string up;
    ``new_token_table`` sized the arrays for every string that ``build_token_map`` adds)."""
    n = e - s
    packable = nv <= 3
    for q in range(nv):
        if vals[v0 + q] > _TOKEN_MASK:
            packable = False
    if packable:
        v = np.int64(nv)
        for q in range(nv):
            v |= np.int64(vals[v0 + q]) << (2 + _TOKEN_BITS * q)
    else:
        a = c.meta[2]
        c.ids[a] = nv
        for q in range(nv):
            c.ids[a + 1 + q] = vals[v0 + q]
        c.meta[2] = a + 1 + nv
        v = -a - 1
    if n > 14:
        a = c.meta[1]
        for q in range(n):
            c.arena[a + q] = buf[s + q]
        c.meta[1] = a + n
        c.slots[slot, 3] = a
    c.slots[slot, 0] = k0
    c.slots[slot, 1] = k1
    c.slots[slot, 2] = v
    c.meta[0] += 1


@_jit
def build_token_map(arena, starts, lengths, ranks, m):
    """Fill the empty map ``m`` with token ``i`` (``arena[starts[i]:starts[i] + lengths[i]]``)
    -> ``[ranks[i]]``.  Tokens are distinct, so each goes in once; ``m`` is sized for them all,
    so it is never emptied."""
    for i in range(len(starts)):
        s = starts[i]
        e = s + lengths[i]
        k0, k1 = chunk_keys(arena, s, e)
        slot = -table_find(m, arena, s, e, k0, k1) - 1
        table_insert(m, arena, s, e, k0, k1, slot, ranks, i, 1)
