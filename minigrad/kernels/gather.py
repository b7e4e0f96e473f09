"""Row gather: ``out[i, :] = table[index[i], :]``, the embedding lookup's forward.

Reading one row per id is all an embedding lookup does (the one-hot matmul without the zeros).
NumPy's ``np.take(table, index, axis=0)`` computes the same, through a generic strided copy; the
compiled loop here copies whole rows and asks for the row ``GATHER_AHEAD`` ids ahead early
(``minigrad.kernels.prefetch``), so that in a table larger than the caches the misses of
consecutive ids overlap (how much that saves, against ``np.take``, on the machine the constants
were chosen on: ``benchmarks/bench_embedding_step.py``).

Out of scope: the backward (``scatter.py``, ``sparse_rows.py``), ids validation for the raw kernel
(the public wrapper checks every id first: numba does no bounds checks).
"""

from __future__ import annotations

import numpy as np
from numba import njit

from minigrad.validate import FLOAT_DTYPES, as_index_array, check_float_array, check_ids_in_range

from .prefetch import prefetch_row

__all__ = ["gather_rows", "gather_rows_reference"]

#: ids ahead whose rows are prefetched (16 beat 4 and 8 for rows of 256 bytes when timed)
GATHER_AHEAD = 16


@njit(cache=True, nogil=True)
def gather_rows_kernel(table: np.ndarray, index: np.ndarray, out: np.ndarray) -> None:
    """Raw kernel: ``out[i] = table[index[i]]`` for flat ``index``. No checks."""
    n = index.shape[0]
    d = table.shape[1]
    for i in range(n):
        if i + GATHER_AHEAD < n:
            prefetch_row(table, index[i + GATHER_AHEAD])
        r = index[i]
        for j in range(d):
            out[i, j] = table[r, j]


def gather_rows(table: np.ndarray, index: np.ndarray) -> np.ndarray:
    """Return ``table[index]`` (shape ``index.shape + (d,)``), a new C-contiguous array.

    Args:
        table: ``(V, d)`` float32 or float64 (a non-contiguous table is gathered by NumPy).
        index: integer ids of any shape, each in ``0 <= id < V``.

    Raises:
        TypeError: a non-float table or non-integer ids. ValueError: a table that is not 2-D.
        IndexError: an id outside ``0..V-1`` (the message names it and V).
    """
    check_float_array("table", table, ndim=2)
    idx = as_index_array("index", index)
    check_ids_in_range(idx, table.shape[0])
    return gather_rows_unchecked(table, idx)


def gather_rows_unchecked(table: np.ndarray, index: np.ndarray) -> np.ndarray:
    """:func:`gather_rows` for callers that validated ``index`` already (integers, in range)."""
    flat = np.ascontiguousarray(index, dtype=np.int64).reshape(-1)
    d = table.shape[1]
    if not table.flags.c_contiguous or table.dtype not in FLOAT_DTYPES:
        return np.take(table, flat, axis=0).reshape(*index.shape, d)
    out = np.empty((flat.shape[0], d), dtype=table.dtype)
    if flat.shape[0] and d:
        gather_rows_kernel(table, flat, out)
    return out.reshape(*index.shape, d)


def gather_rows_reference(table: np.ndarray, index: np.ndarray) -> np.ndarray:
    """Plain NumPy: ``np.take(table, index, axis=0)`` (what the tests compare against)."""
    return np.take(table, np.asarray(index), axis=0)
