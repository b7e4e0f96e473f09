"""Row-sparse gradients: the embedding gradient as (unique ids, one summed row per id).

The gradient of ``E[ids]`` with respect to ``E`` (V x d) is zero except on the rows whose ids
occurred. With a 1M-token vocabulary and a batch of 65k ids, at most 65k of the 1M rows are
non-zero, so instead of a dense V x d array we build the compact form::

    >>> index = np.array([7, 2, 7]); src = np.array([[1., 1.], [2., 2.], [3., 3.]])
    >>> indices, values = row_sparse_sum(index, src)
    >>> indices, values
    (array([2, 7]), array([[2., 2.],
           [4., 4.]]))

How, in O(n) and without any O(V) pass
--------------------------------------
1. **First-seen remap** (compiled, serial, O(n)): an open-addressing hash table of ~2n slots maps
   each id to a compact slot ``0..U-1`` in order of first appearance. Its size depends on n only, so
   the cost does not grow with the vocabulary (a V-sized lookup array would need an O(V) reset).
2. **Sort only the U unique ids** (``np.argsort``, U <= n) to get the ids in increasing order, and
   turn "slot" into "position in the sorted output" for every input row.
3. **Scatter-add** the n input rows into a fresh U x d array with :func:`scatter_add`'s kernels
   (zeroing fused; serial unless ``parallel=True``: see ``scatter.py`` for why).

:func:`merge_row_sparse` adds two such gradients (two backward calls accumulate) by a linear merge
of their sorted index lists.

Out of scope: the ``.to_dense()`` container class and optimizers (``minigrad.nn``/``optim``).
"""

from __future__ import annotations

import numpy as np
from numba import njit

from minigrad.validate import (
    as_index_array,
    check_float_array,
    check_ids_in_range,
    check_same_dtype,
)

from .scatter import _flatten_rows, _scatter_rows

__all__ = [
    "merge_row_sparse",
    "merge_row_sparse_reference",
    "row_sparse_sum",
    "row_sparse_sum_reference",
    "unique_first_seen",
]

# the same Fibonacci-hash constant as in scatter.py (a signed int64, so numba stays in int64)
_HASH_MULT = -7046029254386353131


@njit(cache=True, nogil=True)
def unique_first_seen_kernel(
    index: np.ndarray, table: np.ndarray, uniq: np.ndarray, inverse: np.ndarray
) -> int:
    """Raw first-seen remap; returns U, the number of distinct ids.

    ``table`` (a power-of-two size >= 2n, all -1) is a linear-probing hash table from id to slot:
    ``table[h]`` is -1 (empty) or a slot ``s`` with ``uniq[s]`` the id stored there. Fills
    ``uniq[:U]`` (distinct ids, first-seen order) and ``inverse`` (slot of each ``index[i]``).
    """
    mask = table.shape[0] - 1
    count = 0
    for i in range(index.shape[0]):
        key = index[i]
        h = ((int(key) * _HASH_MULT) >> 32) & mask
        while True:
            s = table[h]
            if s == -1:  # first time we see this id: give it the next slot
                table[h] = count
                uniq[count] = key
                inverse[i] = count
                count += 1
                break
            if uniq[s] == key:
                inverse[i] = s
                break
            h = (h + 1) & mask  # collision: probe the next cell
    return count


def unique_first_seen(index: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Return ``(uniq, inverse)``: the distinct ids in order of first appearance, and for every
    position ``i`` the slot of ``index[i]`` in ``uniq`` (so ``uniq[inverse] == index``).

    >>> unique_first_seen(np.array([5, 3, 5, 9]))
    (array([5, 3, 9]), array([0, 1, 0, 2]))

    ``index``: 1-D non-negative int64 (callers validate). O(n) expected time, whatever the ids:
    the hash table has a power-of-two size >= 2n, so it is at most half full. The buffers are
    allocated here, by NumPy (a NumPy allocation reuses memory; a numba one faulted in fresh pages
    on every call: ``benchmarks/bench_scatter.py`` has the cost).
    """
    n = index.shape[0]
    size = 16
    while size < 2 * n:
        size *= 2
    # int32 slots halve the table (512 KiB for n = 65,536: it stays in the L2 cache; timings in
    # benchmarks/bench_scatter.py)
    table = np.full(size, -1, dtype=np.int32 if n < 2**31 else np.int64)
    uniq = np.empty(n, dtype=np.int64)
    inverse = np.empty(n, dtype=np.int64)
    count = unique_first_seen_kernel(index, table, uniq, inverse)
    return uniq[:count], inverse


def row_sparse_sum(
    index: np.ndarray,
    src: np.ndarray,
    num_rows: int | None = None,
    *,
    parallel: bool | None = None,
) -> tuple[np.ndarray, np.ndarray]:
    """Sum the rows of ``src`` by id: ``(indices, values)`` with ``indices`` sorted and unique.

    ``values[k] = sum of src[i] over all i with index[i] == indices[k]``. Equivalent to
    ``np.unique`` + ``np.add.at`` (see :func:`row_sparse_sum_reference`); bit for bit on the
    serial path, up to the order of float additions on the parallel one (see ``scatter.py``).

    Args:
        index: integer ids of any shape (int64, or another integer dtype, converted), all >= 0.
        src: ``index.shape + (d,)``, float32 or float64; a non-contiguous ``src`` is copied.
        num_rows: the vocabulary size V; when given, ids must be ``< V`` too.
        parallel: ``True`` sums on several threads (as :func:`scatter_add` does); ``None`` or
            ``False``, serially.

    Returns:
        ``indices`` (U,) int64, increasing; ``values`` (U, d) with ``src``'s dtype.

    Raises:
        TypeError / ValueError: wrong dtypes / shapes. IndexError: a negative id, or an id >= V.
    """
    idx = as_index_array("index", index)
    check_float_array("src", src)
    if src.ndim != idx.ndim + 1:
        raise ValueError(
            f"src must have shape index.shape + (d,), got src {src.shape} for index {idx.shape}"
        )
    d = src.shape[-1]
    src2 = _flatten_rows(idx, src, d)
    idx = idx.reshape(-1)
    bound = np.iinfo(np.int64).max if num_rows is None else int(num_rows)
    check_ids_in_range(idx, bound, bound=None if num_rows is not None else "int64 row ids")
    uniq, inverse = unique_first_seen(idx)
    order = np.argsort(uniq)  # only U <= n ids are sorted, never V
    indices = uniq[order]
    rank = np.empty_like(order)
    rank[order] = np.arange(order.shape[0])
    rows = rank[inverse]  # input row i goes to output row rows[i]
    values = np.empty((indices.shape[0], d), dtype=src2.dtype)
    if idx.shape[0] and d:
        _scatter_rows(values, rows, src2, zero_first=True, parallel=parallel)
    else:
        values[...] = 0
    return indices, values


def row_sparse_sum_reference(index: np.ndarray, src: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Plain NumPy: ``np.unique`` (a sort of all n ids) then ``np.add.at``."""
    index = np.asarray(index).reshape(-1)
    src = np.asarray(src)
    src = src.reshape(index.shape[0], src.shape[-1])
    indices, inverse = np.unique(index, return_inverse=True)
    values = np.zeros((indices.shape[0], src.shape[1]), dtype=src.dtype)
    np.add.at(values, inverse.reshape(-1), src)
    return indices.astype(np.int64), values


@njit(cache=True, nogil=True)
def _union_size(a: np.ndarray, b: np.ndarray) -> int:
    i = j = count = 0
    while i < a.shape[0] and j < b.shape[0]:
        if a[i] < b[j]:
            i += 1
        elif b[j] < a[i]:
            j += 1
        else:
            i += 1
            j += 1
        count += 1
    return count + (a.shape[0] - i) + (b.shape[0] - j)


@njit(cache=True, nogil=True)
def merge_row_sparse_kernel(
    ia: np.ndarray,
    va: np.ndarray,
    ib: np.ndarray,
    vb: np.ndarray,
    out_i: np.ndarray,
    out_v: np.ndarray,
) -> None:
    """Raw two-pointer merge of two sorted row-sparse gradients into preallocated outputs."""
    i = j = k = 0
    na = ia.shape[0]
    nb = ib.shape[0]
    while i < na or j < nb:
        if j >= nb or (i < na and ia[i] < ib[j]):
            out_i[k] = ia[i]
            out_v[k, :] = va[i, :]
            i += 1
        elif i >= na or ib[j] < ia[i]:
            out_i[k] = ib[j]
            out_v[k, :] = vb[j, :]
            j += 1
        else:  # the same row in both: add
            out_i[k] = ia[i]
            for c in range(va.shape[1]):
                out_v[k, c] = va[i, c] + vb[j, c]
            i += 1
            j += 1
        k += 1


def _check_row_sparse(name: str, indices: object, values: object) -> tuple[np.ndarray, np.ndarray]:
    if not isinstance(indices, np.ndarray) or indices.dtype != np.int64 or indices.ndim != 1:
        got = getattr(indices, "dtype", type(indices).__name__)
        shape = getattr(indices, "shape", None)
        raise TypeError(f"indices_{name} must be a 1-D int64 ndarray, got {got} of shape {shape}")
    check_float_array(f"values_{name}", values, ndim=2)
    if values.shape[0] != indices.shape[0]:
        raise ValueError(
            f"values_{name} must have one row per index: {indices.shape[0]} indices but "
            f"values_{name} has shape {values.shape}"
        )
    if indices.shape[0] > 1:
        steps = np.diff(indices)
        if not (steps > 0).all():
            k = int(np.flatnonzero(steps <= 0)[0])
            raise ValueError(
                f"indices_{name} must be sorted and unique; got {indices[k]} then {indices[k + 1]} "
                f"at positions {k}, {k + 1}"
            )
    return np.ascontiguousarray(indices), np.ascontiguousarray(values)


def merge_row_sparse(
    indices_a: np.ndarray, values_a: np.ndarray, indices_b: np.ndarray, values_b: np.ndarray
) -> tuple[np.ndarray, np.ndarray]:
    """Add two row-sparse gradients: the union of their rows, summing rows present in both.

    >>> merge_row_sparse(np.array([1, 4]), np.array([[1.], [2.]]),
    ...                  np.array([4, 9]), np.array([[10.], [20.]]))
    (array([1, 4, 9]), array([[ 1.],
           [12.],
           [20.]]))

    Both inputs must be valid outputs of :func:`row_sparse_sum` (1-D int64 indices, sorted and
    unique, checked) with the same width d and dtype. O(U_a + U_b) rows: a linear merge.
    """
    ia, va = _check_row_sparse("a", indices_a, values_a)
    ib, vb = _check_row_sparse("b", indices_b, values_b)
    check_same_dtype("values_a", va, "values_b", vb)
    if va.shape[1] != vb.shape[1]:
        raise ValueError(
            f"values_a and values_b must have the same row width, got {va.shape[1]} and "
            f"{vb.shape[1]}"
        )
    size = _union_size(ia, ib)
    out_i = np.empty(size, dtype=np.int64)
    out_v = np.empty((size, va.shape[1]), dtype=va.dtype)
    merge_row_sparse_kernel(ia, va, ib, vb, out_i, out_v)
    return out_i, out_v


def merge_row_sparse_reference(
    indices_a: np.ndarray, values_a: np.ndarray, indices_b: np.ndarray, values_b: np.ndarray
) -> tuple[np.ndarray, np.ndarray]:
    """Plain NumPy: concatenate both and re-reduce with :func:`row_sparse_sum_reference`."""
    return row_sparse_sum_reference(
        np.concatenate([indices_a, indices_b]), np.concatenate([values_a, values_b])
    )
