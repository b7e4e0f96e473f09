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
ufunc machinery, many times slower. Here a compiled loop adds whole rows, streaming ``src`` front
to back at about the speed of copying it. Two more things the loop does: it asks for the
destination row a few ids ahead early (``prefetch.py``: in a table larger than the caches,
consecutive ids' cache misses then overlap), and with ``zero_first=True`` it zeroes ``out``
itself (a compiled zeroing loop beats ``ndarray.fill(0)``), so the dense embedding gradient is
one call. Timings, and the numbers behind each choice here: ``benchmarks/bench_scatter.py``.

Using both cores, race-free
---------------------------
Splitting the *input* rows between threads would let two threads add into the same output row at
once (a hot token id appears everywhere): lost updates. So each extra thread gets its own
**private table**, shaped like ``out``:

1. thread 0 adds the first 1/T of the input rows into ``out``, thread t into private table t;
   each thread reads one contiguous block of ``src``. A per-thread byte array marks the rows it
   touched, so private tables need no zeroing: a row's first contribution is written, later ones
   added;
2. after all have finished, the threads split the *output* rows into ranges and add the marked
   rows of the private tables into ``out`` (with ``zero_first``, this pass also zeroes the rows
   nobody touched).

No memory is written by two threads at once in either phase. The result is deterministic, but it
is **not** bitwise equal to the serial loop: each output row becomes (sum of thread 0's rows) +
(sum of thread 1's rows) + ..., a different order of float additions than ``np.add.at``'s, so
float32 results can differ in the last bits (exactly equal for integer-valued data).

When it pays: only where two cores can read memory faster than one, so ``parallel=None`` means
the serial loop and the threads run only on request (``parallel=True``; private tables of up to
``PARALLEL_MAX_SCRATCH_BYTES`` in total, fewer threads if that is too little). The serial loop is
limited by memory bandwidth already: if the cores share it, no split of the work can beat one
thread by more than what two threads gain in reading ``src`` (the "ceiling" rows of
``benchmarks/bench_scatter.py`` measure exactly that), and the private tables' extra merge pass
costs more than that. On the machine the default was chosen on it did (the benchmark's
docstring has its numbers); on one whose cores each have their own bandwidth, try
``parallel=True``.

Out of scope: the autograd (``minigrad.ops``/``nn`` call this), other reductions than ``+``.
"""

from __future__ import annotations

import numpy as np
from numba import njit

from minigrad.validate import (
    as_index_array,
    check_c_contiguous_writeable,
    check_float_array,
    check_ids_in_range,
    check_same_dtype,
)

from .buffer_cache import BufferCache
from .pool import num_threads, run_on_ranges
from .prefetch import CACHE_LINE, prefetch_row

__all__ = ["scatter_add", "scatter_add_reference"]

#: the private tables of one parallel call may take at most this many bytes together
PARALLEL_MAX_SCRATCH_BYTES = 64 << 20
#: private tables and touched-row marks are reused between calls (never while still in use)
_scratch = BufferCache(limit_bytes=2 * PARALLEL_MAX_SCRATCH_BYTES, min_bytes=0)


@njit(cache=True, nogil=True, inline="always")
def _prefetch_distance(row_bytes: int) -> int:
    # about 4 KiB ahead: 16 rows of 256 bytes, 4 rows of 1 KiB (best at d = 64 and 256 when
    # timed: see benchmarks/bench_scatter.py)
    return min(16, max(2, 4096 // max(row_bytes, CACHE_LINE)))


@njit(cache=True, nogil=True)
def scatter_add_serial_kernel(
    out: np.ndarray, index: np.ndarray, src: np.ndarray, zero_first: bool = False
) -> None:
    """Raw kernel, one thread: ``out[index[i]] += src[i]`` for i = 0..n-1. No checks."""
    if zero_first:
        out[:] = 0
    n, d = src.shape
    ahead = _prefetch_distance(d * src.itemsize)
    for i in range(n):
        if i + ahead < n:
            prefetch_row(out, index[i + ahead])
        r = index[i]
        for j in range(d):
            out[r, j] += src[i, j]


@njit(cache=True, nogil=True)
def scatter_add_block_kernel(
    table: np.ndarray,
    touched: np.ndarray,
    index: np.ndarray,
    src: np.ndarray,
    lo: int,
    hi: int,
    accumulate: bool,
) -> None:
    """Raw kernel for one thread's block of input rows ``lo..hi-1``. No checks.

    ``accumulate=True``: add into ``table`` as it is (thread 0 adding into ``out``). Otherwise a
    row's first contribution replaces the garbage in ``table`` (``0.0 + x``, so ``-0.0`` becomes
    ``+0.0`` as in ``np.add.at`` on zeros) and ``touched[r]`` records that row ``r`` holds a sum.
    """
    d = src.shape[1]
    ahead = _prefetch_distance(d * src.itemsize)
    for i in range(lo, hi):
        if i + ahead < hi:
            prefetch_row(table, index[i + ahead])
        r = index[i]
        if accumulate or touched[r]:
            for j in range(d):
                table[r, j] += src[i, j]
        else:
            touched[r] = 1
            for j in range(d):
                table[r, j] = 0.0 + src[i, j]


@njit(cache=True, nogil=True)
def merge_private_tables_kernel(
    out: np.ndarray,
    touched: np.ndarray,
    private: np.ndarray,
    lo: int,
    hi: int,
) -> None:
    """Raw kernel, output rows ``lo..hi-1``: ``out[r] += private[t, r]`` if ``touched[t + 1, r]``.

    ``touched[0]`` is thread 0's mark in ``out`` itself when ``out`` was not zeroed first (then a
    row no thread touched is zeroed; with an all-ones ``touched[0]`` nothing is zeroed).
    """
    d = out.shape[1]
    for r in range(lo, hi):
        have = touched[0, r] != 0
        for t in range(private.shape[0]):
            if touched[t + 1, r]:
                if have:
                    for j in range(d):
                        out[r, j] += private[t, r, j]
                else:
                    for j in range(d):
                        out[r, j] = private[t, r, j]
                    have = True
        if not have:
            for j in range(d):
                out[r, j] = 0.0


def _scatter_parallel(
    out: np.ndarray, idx: np.ndarray, src2: np.ndarray, zero_first: bool, threads: int
) -> bool:
    """The private-table scatter of the module docstring; False if it cannot use 2+ threads."""
    V, d = out.shape
    n = idx.shape[0]
    threads = min(threads, 1 + PARALLEL_MAX_SCRATCH_BYTES // max(out.nbytes, 1), n)
    if threads < 2:
        return False
    private = _scratch.empty((threads - 1, V, d), out.dtype)
    touched = _scratch.empty((threads, V), np.uint8)
    touched[1:] = 0
    # thread 0 adds into out as it is; with zero_first it marks its rows like the others do
    touched[0] = 0 if zero_first else 1
    blocks = [n * t // threads for t in range(threads + 1)]

    def add_block(t: int, _: int) -> None:
        table = out if t == 0 else private[t - 1]
        accumulate = t == 0 and not zero_first
        scatter_add_block_kernel(table, touched[t], idx, src2, blocks[t], blocks[t + 1], accumulate)

    run_on_ranges(add_block, list(range(threads + 1)))
    rows = [V * t // threads for t in range(threads + 1)]
    run_on_ranges(merge_private_tables_kernel, rows, out, touched, private)
    return True


def _scatter_rows(
    out: np.ndarray, idx: np.ndarray, src2: np.ndarray, zero_first: bool, parallel: bool | None
) -> None:
    """Checked inputs in; the threaded kernel if ``parallel`` (and 2+ threads fit), else serial."""
    if parallel and _scatter_parallel(out, idx, src2, zero_first, num_threads()):
        return
    scatter_add_serial_kernel(out, idx, src2, zero_first)


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
    out: np.ndarray,
    index: np.ndarray,
    src: np.ndarray,
    *,
    zero_first: bool = False,
    parallel: bool | None = None,
) -> None:
    """Add row ``src[i]`` into row ``out[index[i]]`` for every i, in place.

    Args:
        out: ``(V, d)`` float32 or float64, C-contiguous and writeable (written in place).
        index: integer ids of any shape (int64; int32 and other integer dtypes are converted),
            each in ``0 <= id < V``; repeats are summed.
        src: ``index.shape + (d,)``, same dtype as ``out``; a non-contiguous ``src`` is copied.
        zero_first: set ``out`` to zero first (its old contents are ignored), in the same
            compiled call: the dense embedding gradient ``zeros(V, d)`` + scatter.
        parallel: ``True`` runs the private-table kernel on ``numba.get_num_threads()`` threads;
            ``None`` or ``False``, the serial loop (when threads pay: the module docstring).

    Raises:
        TypeError: non-float or mismatched dtypes, non-integer ids.
        ValueError: wrong shapes, a non-contiguous or read-only ``out``.
        IndexError: an id outside ``0..V-1`` (the message names it and V); ``out`` is untouched.

    The serial kernel equals ``np.add.at(out, index, src)`` bit for bit (same order of additions
    per element). The parallel one sums in a different order (deterministic, see the module
    docstring), so float results may differ from it in the last bits.
    """
    check_float_array("out", out, ndim=2)
    check_c_contiguous_writeable("out", out)
    idx = as_index_array("index", index)
    check_float_array("src", src)
    check_same_dtype("out", out, "src", src)
    V, d = out.shape
    src2 = _flatten_rows(idx, src, d)
    idx = idx.reshape(-1)
    check_ids_in_range(idx, V)
    if idx.shape[0] == 0 or d == 0:
        if zero_first:
            out[...] = 0
        return
    _scatter_rows(out, idx, src2, zero_first, parallel)


def scatter_add_reference(out: np.ndarray, index: np.ndarray, src: np.ndarray) -> None:
    """Plain-NumPy reference: ``np.add.at`` on rows (the oracle the tests compare against)."""
    index = np.asarray(index).reshape(-1)
    np.add.at(out, index, np.asarray(src).reshape(index.shape[0], out.shape[1]))
