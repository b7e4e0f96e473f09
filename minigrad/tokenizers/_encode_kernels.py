"""Numba kernels for encoding long texts: find the distinct chunks, then copy their ids out.

Real text repeats itself: 10 MB of Python source is about 2.4 million chunks but only about
60 thousand distinct ones.  ``BPETokenizer`` therefore encodes a long text in three steps:

1. ``distinct_chunks(data, bounds)``: a hash set over byte slices (open addressing, linear
   probing, and a byte-by-byte comparison on every hash match, so collisions cost time, never
   correctness) gives each chunk the index of its distinct chunk, and one representative chunk
   per distinct chunk;
2. Python merges each *distinct* chunk once (or finds it in the chunk cache);
3. ``gather_ids(which, offsets, flat)`` writes every chunk's ids into one int64 array.

Only step 2 runs per distinct chunk in Python; steps 1 and 3 are linear loops over bytes and
ids.  The reference for both kernels is the plain Python loop in ``BPETokenizer._encode_utf8``
(one dict lookup per chunk); a test checks that the two paths give the same ids.  The kernels
are also correct, just slow, as plain Python under ``NUMBA_DISABLE_JIT=1`` (no integer overflow:
the hash is kept below 2**40).

What it leaves out: the merges themselves (``merge.py``) and the split (``fast_pretokenize``).
"""

from __future__ import annotations

import numba
import numpy as np

_HASH_MASK = (1 << 40) - 1  # h * 1000003 + 255 stays below 2**63


@numba.njit(cache=True)
def distinct_chunks(data: np.ndarray, bounds: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """``(which, reps)``: chunk j equals chunk ``reps[which[j]]``; ``reps`` in first-seen order.

    ``data`` is the uint8 text, chunk j is ``data[bounds[j]:bounds[j + 1]]``.
    """
    n = bounds.shape[0] - 1
    # The table starts small and doubles when half full: it stays about the size of the set of
    # distinct chunks (which fits in cache), not of the text (which would not).
    cap = 1024
    mask = cap - 1
    table = np.full(cap, -1, np.int64)  # slot -> distinct index
    reps = np.empty(max(n, 1), np.int64)  # distinct index -> its first chunk
    rep_hash = np.empty(max(n, 1), np.int64)
    which = np.empty(n, np.int64)
    n_distinct = 0
    for j in range(n):
        start = bounds[j]
        stop = bounds[j + 1]
        h = stop - start
        for k in range(start, stop):
            h = (h * 1000003 + data[k]) & _HASH_MASK
        slot = h & mask
        while True:
            d = table[slot]
            if d < 0:  # a new distinct chunk
                table[slot] = n_distinct
                reps[n_distinct] = j
                rep_hash[n_distinct] = h
                which[j] = n_distinct
                n_distinct += 1
                break
            if rep_hash[d] == h:
                r = reps[d]
                r_start = bounds[r]
                if bounds[r + 1] - r_start == stop - start:
                    same = True
                    for k in range(stop - start):
                        if data[r_start + k] != data[start + k]:
                            same = False
                            break
                    if same:
                        which[j] = d
                        break
            slot = (slot + 1) & mask
        if 2 * n_distinct > cap:  # rehash into a table twice the size
            cap *= 2
            mask = cap - 1
            table = np.full(cap, -1, np.int64)
            for d in range(n_distinct):
                slot = rep_hash[d] & mask
                while table[slot] >= 0:
                    slot = (slot + 1) & mask
                table[slot] = d
    return which, reps[:n_distinct].copy()


@numba.njit(cache=True)
def gather_ids(which: np.ndarray, offsets: np.ndarray, flat: np.ndarray) -> np.ndarray:
    """Concatenate ``flat[offsets[d]:offsets[d + 1]]`` for ``d`` in ``which``, as int64."""
    total = 0
    for j in range(which.shape[0]):
        d = which[j]
        total += offsets[d + 1] - offsets[d]
    out = np.empty(total, np.int64)
    p = 0
    for j in range(which.shape[0]):
        d = which[j]
        for k in range(offsets[d], offsets[d + 1]):
            out[p] = flat[k]
            p += 1
    return out
