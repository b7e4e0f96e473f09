"""Ordering kernels of the BPE merge loop (``fast.merge_loop``): its max-heap and its sorts.

* ``heap_push`` / ``heap_pop``: a binary max-heap on two parallel arrays (count, key), higher
  count first, then smaller key: the order of ``heapq`` on ``(-count, key)``, which the tests
  compare against;
* ``sort_small``: Shell sort of a short prefix (a word's window pairs);
* ``sort_ids``: the word ids of a pair, sorted so that the merge loop visits words in memory
  order: Shell sort when short, else a radix sort (linear in the list, whatever its order).

Written out rather than ``np.sort``, whose numba compilation costs seconds; compared with
``sorted`` by the tests, and run as plain Python under ``NUMBA_DISABLE_JIT=1``.
"""

from __future__ import annotations

from numba import njit

from minigrad.tokenizers.fast.tables import copy

_jit = njit(cache=True, nogil=True)
_inline = njit(cache=True, nogil=True, inline="always")

__all__ = ["heap_pop", "heap_push", "sort_ids", "sort_small"]


@_inline
def sort_small(x, m):
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
def sort_ids(x, m, tmp, digit_count):
    """Sort the non-negative int32s ``x[:m]`` in place: Shell sort for short lists, else a
    least-significant-digit radix sort (11-bit digits, through ``tmp``, as many passes as the
    largest value needs).  ``digit_count`` is scratch of ``2**11`` int64s."""
    if m <= 256:
        sort_small(x, m)
        return
    top = 0
    for i in range(m):
        top = max(top, x[i])
    shift = 0
    passes = 0
    src, dst = x, tmp
    while shift == 0 or (top >> shift) > 0:
        for d in range(2048):
            digit_count[d] = 0
        for i in range(m):
            digit_count[(src[i] >> shift) & 2047] += 1
        pos = 0
        for d in range(2048):
            c = digit_count[d]
            digit_count[d] = pos
            pos += c
        for i in range(m):
            v = src[i]
            d = (v >> shift) & 2047
            dst[digit_count[d]] = v
            digit_count[d] += 1
        src, dst = dst, src
        shift += 11
        passes += 1
    if passes % 2 == 1:  # the result is in tmp
        copy(x, 0, tmp, 0, m)
