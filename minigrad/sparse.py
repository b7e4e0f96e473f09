"""``RowSparseGrad``: the gradient of an embedding table, kept as (row ids, one row per id).

Why a special type: the loss depends on an embedding table ``E`` (V x d) only through the rows
that were looked up, so d loss / d E is zero everywhere except on those rows.  With V = 1,000,000
and a batch of 4,096 ids, a dense gradient would be 1,000,000 x d numbers of which at most 4,096
rows are non-zero; writing the zeros alone costs more than everything else in the step.

So ``Embedding(..., sparse=True)`` hands the engine this object instead of an ndarray::

    >>> g = RowSparseGrad(np.array([2, 7]), np.array([[1., 1.], [4., 4.]]), shape=(10, 2))
    >>> g.to_dense()[[0, 2, 7]]
    array([[0., 0.],
           [1., 1.],
           [4., 4.]])

``indices`` are unique, sorted int64 row ids; ``values[k]`` is the summed gradient of row
``indices[k]``.  Gradients accumulate like ndarrays do: ``sparse + sparse`` merges the rows
(two backward calls before a step), ``sparse + dense`` (either order) gives a dense ndarray.
The optimizers in ``minigrad.optim`` read ``indices``/``values`` and update only those rows.

Where it sits: below the ops (the embedding backward makes it) and the optimizers (they read it),
above the kernels (the merge is compiled); exported as ``minigrad.nn.RowSparseGrad``.

Deliberately left out: arithmetic beyond ``+`` and scalar ``*`` (PyTorch's sparse tensors have
many more operations; an optimizer needs none of them).
"""

from __future__ import annotations

from typing import Any

import numpy as np

from minigrad import kernels


class RowSparseGrad:
    """A (V, d) gradient that is zero except on the rows ``indices``.

    Args:
        indices: (k,) int64 row ids, unique and increasing (not re-checked: the embedding
            backward and the merge both produce them that way).
        values: (k, d) float array, ``values[j]`` is the gradient of row ``indices[j]``.
        shape: the full shape (V, d) of the parameter this is the gradient of.
    """

    __slots__ = ("indices", "shape", "values")

    # Make numpy hand ``ndarray + RowSparseGrad`` to our __radd__ instead of broadcasting.
    __array_ufunc__ = None

    def __init__(self, indices: np.ndarray, values: np.ndarray, shape: tuple[int, int]) -> None:
        if values.ndim != 2 or values.shape[0] != indices.shape[0]:
            raise ValueError(
                f"values must have shape (len(indices), d) = ({indices.shape[0]}, d), "
                f"got {values.shape}"
            )
        if len(shape) != 2 or values.shape[1] != shape[1]:
            raise ValueError(f"shape must be (V, {values.shape[1]}), got {tuple(shape)}")
        self.indices = indices
        self.values = values
        self.shape = tuple(shape)

    @property
    def dtype(self) -> np.dtype:
        return self.values.dtype

    @property
    def nnz_rows(self) -> int:
        """How many rows carry a (possibly zero) gradient."""
        return int(self.indices.shape[0])

    def to_dense(self) -> np.ndarray:
        """The same gradient as an ordinary (V, d) ndarray (costs O(V x d): for tests, mostly)."""
        out = np.zeros(self.shape, dtype=self.values.dtype)
        out[self.indices] = self.values  # indices are unique, so plain assignment is a sum
        return out

    def __add__(self, other: Any) -> Any:
        if isinstance(other, RowSparseGrad):
            if other.shape != self.shape:
                raise ValueError(
                    f"cannot add row-sparse gradients of shapes {self.shape} and {other.shape}"
                )
            indices, values = kernels.merge_row_sparse(
                self.indices, self.values, other.indices, other.values
            )
            return RowSparseGrad(indices, values, self.shape)
        if isinstance(other, np.ndarray):
            if other.shape != self.shape:
                raise ValueError(
                    f"cannot add a row-sparse gradient of shape {self.shape} to an array of "
                    f"shape {other.shape}"
                )
            out = np.array(other, dtype=np.result_type(other, self.values), copy=True)
            out[self.indices] += self.values  # unique indices: no lost updates
            return out
        return NotImplemented

    __radd__ = __add__

    def __mul__(self, scalar: float) -> RowSparseGrad:
        if not isinstance(scalar, (int, float, np.floating, np.integer)):
            return NotImplemented
        return RowSparseGrad(self.indices, self.values * scalar, self.shape)

    __rmul__ = __mul__

    def __repr__(self) -> str:
        return (
            f"RowSparseGrad(shape={self.shape}, rows={self.nnz_rows}, dtype={self.dtype}, "
            f"indices={np.array2string(self.indices, threshold=8)})"
        )
