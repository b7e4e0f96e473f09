"""Scatter-add of rows: ``out[index[i], :] += src[i, :]``, the embedding layer's backward.

An embedding lookup ``E[ids]`` is a row gather; its gradient sends each upstream row back to the row
it came from, adding when an id repeats. That is a scatter-add::

    >>> out = np.zeros((3, 2)); index = np.array([2, 0, 2])
    >>> src = np.array([[1., 1.], [2., 2.], [3., 3.]])
    >>> scatter_add(out, index, src); out
    array([[2., 2.],
           [0., 0.],
           [4., 4.]])

``np.add.at(out, index, src)`` computes the same thing, but element by element through a generic
ufunc machinery (~25x slower, see ``benchmarks/bench_scatter.py``). Here a compiled loop adds whole
rows, streaming ``src`` front to back at about the speed of copying it. A thread-partitioned
version exists too (``parallel=True``); on the 2-core machine we measured it did not beat the
serial loop, so by default it is only chosen for very large inputs (``PARALLEL_MIN_ELEMENTS``).

Why the parallel version is race-free
-------------------------------------
Splitting the *input* rows between threads would let two threads add into the same output row at
once (a hot token id appears everywhere): lost updates. Splitting the *columns* is safe but was
measured slower than one thread (each thread still walks every id). Instead each thread **owns a set
of destination rows** and handles exactly the input rows that land in its set:

1. every id is hashed into one of 64 buckets; a counting pass measures how many input rows each
   bucket receives;
2. buckets go to threads greedily, heaviest first, so that a Zipf-hot id (20% of all rows) does not
   leave one thread idle;
3. a stable counting sort lists, per part, the input rows it owns, in increasing ``i``.

No output row is owned by two parts, so no write is ever shared. The sort is stable, so the input
rows of any one destination row are visited in increasing ``i``: every output element receives its
additions in the same order as in the serial loop and in ``np.add.at``, and the parallel result is
**bitwise identical** to both, in any dtype.

Ownership goes by blocks of 8 consecutive rows (``ROW_BLOCK_SHIFT``), not single rows: a NumPy
array's rows are usually not aligned to 64-byte cache lines, so neighbouring rows share a line; if
two threads hammered the hot ids 0 and 1 (token ids are ranked by frequency), that line would bounce
between the cores ("false sharing": still correct, but measured up to 15x slower). With blocks only
every 8th row boundary can be shared.

Out of scope: the autograd (``minigrad.ops``/``nn`` call this), other reductions than ``+``.
"""

from __future__ import annotations

import numpy as np
from numba import njit

from .pool import PARTS_PER_THREAD, num_threads, run_on_ranges
from .validate import (
    as_index_array,
    check_c_contiguous_writeable,
    check_float_array,
    check_ids_in_range,
    check_same_dtype,
)

__all__ = ["scatter_add", "scatter_add_reference"]

#: from this many elements (n * d) on, ``parallel=None`` picks the thread-partitioned path.
#: Measured on the 2-core VM (benchmarks/bench_scatter.py, n = 65,536, d = 64 and 256): the serial
#: loop already streams ``src`` at 0.5-0.8 of the copy bandwidth, and the partitioned loop costs
#: ~2x more per row (an indirect row index defeats part of LLVM's loop optimisation), so two threads
#: did not beat one at any measured size. The threshold (256 Mi elements) therefore keeps every
#: measured size serial; ``parallel=True`` forces the partitioned path.
PARALLEL_MIN_ELEMENTS = 1 << 28
#: number of hash buckets that are dealt out to the threads (a power of two)
NUM_BUCKETS = 64
#: odd 64-bit constant (Fibonacci hashing), written as a signed int64 so numba stays in int64
_HASH_MULT = -7046029254386353131


#: rows are owned in blocks of this many consecutive rows (see the module docstring: false sharing)
ROW_BLOCK_SHIFT = 3


@njit(cache=True, nogil=True)
def _bucket_of(row: int) -> int:
    # multiplicative hash of the row's block, bits 32..37 of the product (spreads strided ids too)
    # int(): a Python int under NUMBA_DISABLE_JIT=1 (no numpy overflow warning), int64 in numba
    return (((int(row) >> ROW_BLOCK_SHIFT) * _HASH_MULT) >> 32) & (NUM_BUCKETS - 1)


@njit(cache=True, nogil=True)
def scatter_add_serial_kernel(out: np.ndarray, index: np.ndarray, src: np.ndarray) -> None:
    """Raw kernel, one thread: ``out[index[i]] += src[i]`` for i = 0..n-1. No checks."""
    n, d = src.shape
    for i in range(n):
        r = index[i]
        for j in range(d):
            out[r, j] += src[i, j]


@njit(cache=True, nogil=True)
def partition_rows_by_owner(index: np.ndarray, num_parts: int, order: np.ndarray) -> np.ndarray:
    """Counting partition of the input rows by the thread that owns their destination row.

    Fills ``order`` (n,) and returns ``offsets``: part ``p`` handles input rows
    ``order[offsets[p]:offsets[p+1]]``, in increasing order (so each thread still reads ``src``
    front to back, which the hardware prefetcher follows: grouping by bucket instead was measured
    2x slower). Every destination row belongs to exactly one part. O(n), no sort.

    ``order`` is allocated by the caller with NumPy: an allocation of this size inside a numba
    function costs fresh page faults on every call here (measured 0.2 ms per 512 KiB), NumPy's
    allocator reuses its memory.
    """
    n = index.shape[0]
    counts = np.zeros(NUM_BUCKETS, dtype=np.int64)
    for i in range(n):
        counts[_bucket_of(index[i])] += 1
    # deal buckets to parts, heaviest first, each to the currently lightest part
    owner = np.empty(NUM_BUCKETS, dtype=np.int64)
    load = np.zeros(num_parts, dtype=np.int64)
    for b in np.argsort(-counts):
        p = np.argmin(load)
        owner[b] = p
        load[p] += counts[b]
    offsets = np.zeros(num_parts + 1, dtype=np.int64)
    for p in range(num_parts):
        offsets[p + 1] = offsets[p] + load[p]
    cursor = offsets[:num_parts].copy()
    for i in range(n):  # stable: each part lists its input rows in increasing i
        p = owner[_bucket_of(index[i])]
        order[cursor[p]] = i
        cursor[p] += 1
    return offsets


@njit(cache=True, nogil=True)
def scatter_add_part_kernel(
    out: np.ndarray, index: np.ndarray, src: np.ndarray, order: np.ndarray, lo: int, hi: int
) -> None:
    """Raw kernel for one thread's part: the input rows ``order[lo:hi]``. No checks.

    Runs without the GIL, so the parts of one call run concurrently in ``pool.run_on_ranges``.
    """
    d = src.shape[1]
    for k in range(lo, hi):
        i = order[k]
        r = index[i]
        for j in range(d):
            out[r, j] += src[i, j]


def _flatten_rows(index: np.ndarray, src: np.ndarray, d: int) -> np.ndarray:
    """Check ``src.shape == index.shape + (d,)`` and return ``src`` as a C-contiguous (n, d)."""
    expected = (*index.shape, d)
    if src.shape != expected:
        raise ValueError(
            f"src must have shape index.shape + (d,) = {expected}, got {src.shape} "
            f"(index shape {index.shape}, out row width d = {d})"
        )
    # a non-contiguous src is copied once (cheaper than a strided inner loop, and one compiled type)
    return np.ascontiguousarray(src).reshape(index.size, d)


def scatter_add(
    out: np.ndarray, index: np.ndarray, src: np.ndarray, *, parallel: bool | None = None
) -> None:
    """Add row ``src[i]`` into row ``out[index[i]]`` for every i, in place.

    Args:
        out: ``(V, d)`` float32 or float64, C-contiguous and writeable (written in place).
        index: integer ids of any shape (int64; int32 and other integer dtypes are converted),
            each in ``0 <= id < V``; repeats are summed.
        src: ``index.shape + (d,)``, same dtype as ``out``; a non-contiguous ``src`` is copied.
        parallel: force the serial (``False``) or row-partitioned parallel (``True``) kernel;
            ``None`` picks by size (parallel from ``PARALLEL_MIN_ELEMENTS`` elements on).

    Raises:
        TypeError: non-float or mismatched dtypes, non-integer ids.
        ValueError: wrong shapes, a non-contiguous or read-only ``out``.
        IndexError: an id outside ``0..V-1`` (the message names it and V).

    The result equals ``np.add.at(out, index, src)`` bit for bit (same order of additions per
    element, see the module docstring).
    """
    check_float_array("out", out, ndim=2)
    check_c_contiguous_writeable("out", out)
    idx = as_index_array("index", index)
    check_float_array("src", src)
    check_same_dtype("out", out, "src", src)
    V, d = out.shape
    src2 = _flatten_rows(idx, src, d)
    idx = idx.reshape(-1)
    check_ids_in_range("index", idx, V)
    n = idx.shape[0]
    if n == 0 or d == 0:
        return
    threads = num_threads()
    if parallel is None:
        parallel = threads > 1 and n * d >= PARALLEL_MIN_ELEMENTS
    if parallel:
        order = np.empty(n, dtype=np.int64)
        offsets = partition_rows_by_owner(idx, threads * PARTS_PER_THREAD, order)
        run_on_ranges(scatter_add_part_kernel, [int(o) for o in offsets], out, idx, src2, order)
    else:
        scatter_add_serial_kernel(out, idx, src2)


def scatter_add_reference(out: np.ndarray, index: np.ndarray, src: np.ndarray) -> None:
    """Plain-NumPy reference: ``np.add.at`` on rows (the oracle the tests compare against)."""
    index = np.asarray(index).reshape(-1)
    np.add.at(out, index, np.asarray(src).reshape(index.shape[0], out.shape[1]))
