"""Data structures of the fast BPE trainer, as numba functions on plain arrays.

Each is small and has a plain-Python reference in the tests:

* ``pair_key``: a pair of token ids ``(a, b)`` as one int64 ``a << 32 | b``, ordered like the
  tuple, so "smallest key" is the tie rule "smallest (left, right)";
* ``ht_find`` / ``_rehash``: an open-addressing hash table (linear probing, load at most one
  half) from pair keys to stable pair indices;
* ``heap_push`` / ``heap_pop``: a binary max-heap of ``(count, key)`` entries, higher count first,
  then smaller key (reference: ``heapq`` on ``(-count, key)``);
* ``_sort_small``: Shell sort, for the short pair lists of one word;
* ``_token_hash`` / ``_token_slot``: a hash table from token bytes to token id;
* ``_grow`` / ``_copy``: growing arrays by doubling.

Loops instead of slice assignment and ``np.sort`` are deliberate: those cost seconds of numba
compile time each.  Arithmetic is arranged so that no product exceeds 2**62, so the functions
give the same results under ``NUMBA_DISABLE_JIT=1`` (plain Python on numpy scalars).
"""

from __future__ import annotations

import numpy as np
from numba import njit

_jit = njit(cache=True, nogil=True)
_MOD = 2147483647  # 2**31 - 1, for the token-bytes hash


@_jit
def pair_key(a, b):
    """``(a, b)`` as one int64, ordered like the tuple: ``a << 32 | b``."""
    return (np.int64(a) << 32) | np.int64(b)


@_jit
def _slot(key, mask):
    # both products stay below 2**62: no overflow, with or without the JIT
    h = (key >> 32) * 1540483477 + (key & 0xFFFFFFFF) * 668265263
    h ^= h >> 29
    return h & mask


@_jit
def ht_find(ht_keys, key):
    """Slot of ``key`` in the open-addressing table, or of the empty slot (-1) where it would go."""
    mask = len(ht_keys) - 1
    i = _slot(key, mask)
    while ht_keys[i] != key and ht_keys[i] != -1:
        i = (i + 1) & mask
    return i


@_jit
def _sort_small(x, m):
    """Sort ``x[:m]`` in place: insertion sort with shrinking gaps (Shell sort).

    Most words are a few tokens long, where this is plain insertion sort; written out rather
    than ``np.sort`` because numba's ``np.sort`` costs seconds of compile time.
    """
    gap = 1
    while gap * 3 + 1 < m:
        gap = gap * 3 + 1
    while gap >= 1:
        for i in range(gap, m):
            v = x[i]
            j = i - gap
            while j >= 0 and x[j] > v:
                x[j + gap] = x[j]
                j -= gap
            x[j + gap] = v
        gap //= 3


@_jit
def heap_push(hcount, hkey, size, c, k):
    """Push ``(c, k)`` on the max-heap (higher count first, then smaller key); return the size."""
    i = size
    while i > 0:
        parent = (i - 1) >> 1
        pc = hcount[parent]
        pk = hkey[parent]
        if pc > c or (pc == c and pk < k):
            break
        hcount[i] = pc
        hkey[i] = pk
        i = parent
    hcount[i] = c
    hkey[i] = k
    return size + 1


@_jit
def heap_pop(hcount, hkey, size):
    """Remove the top entry (read it from ``hcount[0]``, ``hkey[0]`` first); return the size."""
    size -= 1
    c = hcount[size]
    k = hkey[size]
    i = 0
    while True:
        left = 2 * i + 1
        if left >= size:
            break
        best = left
        r = left + 1
        if r < size and (
            hcount[r] > hcount[left] or (hcount[r] == hcount[left] and hkey[r] < hkey[left])
        ):
            best = r
        if hcount[best] > c or (hcount[best] == c and hkey[best] < k):
            hcount[i] = hcount[best]
            hkey[i] = hkey[best]
            i = best
        else:
            break
    hcount[i] = c
    hkey[i] = k
    return size


@_jit
def _grow(x, n):
    """A copy of ``x`` with room for at least ``n`` elements (doubling)."""
    cap = max(len(x), 16)
    while cap < n:
        cap *= 2
    out = np.empty(cap, dtype=x.dtype)
    _copy(out, 0, x, 0, len(x))
    return out


@_jit
def _copy(dst, d0, src, s0, n):
    """``dst[d0:d0+n] = src[s0:s0+n]`` as a loop: slice assignment costs seconds of compile."""
    for i in range(n):
        dst[d0 + i] = src[s0 + i]


@_jit
def _rehash(pkey, npairs, cap):
    ht_keys = np.full(cap, -1, dtype=np.int64)
    ht_vals = np.empty(cap, dtype=np.int32)
    for p in range(npairs):
        i = ht_find(ht_keys, pkey[p])
        ht_keys[i] = pkey[p]
        ht_vals[i] = p
    return ht_keys, ht_vals


@_jit
def _token_slot(tht, thash, tstart, tlen, tbytes, h, buf, m):
    """Slot of the token whose bytes are ``buf[:m]`` (hash ``h``) in ``tht``, or an empty one."""
    mask = len(tht) - 1
    i = h & mask
    while tht[i] != -1:
        t = tht[i]
        if thash[t] == h and tlen[t] == m:
            s = tstart[t]
            same = True
            for j in range(m):
                if tbytes[s + j] != buf[j]:
                    same = False
                    break
            if same:
                return i
        i = (i + 1) & mask
    return i


@_jit
def _token_hash(buf, m):
    h = 0
    for j in range(m):
        h = (h * 257 + np.int64(buf[j]) + 1) % _MOD
    return h
